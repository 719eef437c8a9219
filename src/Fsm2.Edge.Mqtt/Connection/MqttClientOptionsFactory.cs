using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;

namespace Fsm2.Edge.Mqtt.Connection;

/// <summary>Turns <see cref="MqttConnectionOptions"/> into MQTTnet client options for one client id.</summary>
internal static class MqttClientOptionsFactory
{
    /// <summary>Builds clean-start options.</summary>
    /// <param name="options">The shared connection settings (validated by the caller).</param>
    /// <param name="clientId">This client's id.</param>
    /// <param name="communicationTimeout">MQTTnet's own request timeout (a real-clock backstop; callers pass their
    /// TimeProvider-driven tokens for the deadlines they care about).</param>
    public static MqttClientOptions Build(MqttConnectionOptions options, string clientId, TimeSpan communicationTimeout)
    {
        MqttClientOptionsBuilder builder = new MqttClientOptionsBuilder()
            .WithTcpServer(options.Endpoint.Host, options.Endpoint.Port)
            .WithClientId(clientId)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(communicationTimeout)
            .WithProtocolVersion(options.Protocol == MqttProtocol.V5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311);
        if (options.Username is not null)
        {
            builder = builder.WithCredentials(options.Username, options.Password);
        }

        if (options.Endpoint.UseTls)
        {
            builder = builder.WithTlsOptions(tls =>
            {
                tls.UseTls(true).WithTargetHost(options.Endpoint.Host);
                if (options.TlsInsecureSkipVerify)
                {
                    tls.WithAllowUntrustedCertificates(true)
                        .WithIgnoreCertificateChainErrors(true)
                        .WithCertificateValidationHandler(static _ => true);
                }
                else if (options.TlsCaFile is not null)
                {
                    X509Certificate2Collection anchors = [];
                    anchors.ImportFromPemFile(options.TlsCaFile);
                    tls.WithCertificateValidationHandler(context => ValidateAgainst(anchors, context.Certificate));
                }
            });
        }

        return builder.Build();
    }

    // The broker's chain must end in one of the configured anchors; the system store plays no part.
    private static bool ValidateAgainst(X509Certificate2Collection anchors, X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var leaf = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
