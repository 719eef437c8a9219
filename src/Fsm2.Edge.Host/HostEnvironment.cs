using System.Text;
using Fsm2.Edge.Config;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Pack;

namespace Fsm2.Edge.Host;

/// <summary>What the verbs share: profile lookup, the worker registry, the default runtime id.</summary>
internal static class HostEnvironment
{
    /// <summary>The profile search path of §11.1: <c>--profiles-dir</c>, <c>$FSM2_EDGE_PROFILES_DIR</c>, <c>&lt;app dir&gt;/hw-profiles</c>.</summary>
    public static ProfileLookup Profiles(string? profilesDirectory)
        => new(profilesDirectory, Environment.GetEnvironmentVariable(ProfileLookup.EnvironmentVariable), AppContext.BaseDirectory);

    /// <summary>
    /// The worker types this host runs: <c>group</c> (the file's containers) and the built-in worker pack (its MQTT
    /// client and templates come through <paramref name="pack"/>, attached once the broker is known) — the six types an
    /// unknown-type finding lists (50-runtime-monitoring §3.8, FSM2CFG012).
    /// </summary>
    public static WorkerFactory CreateRegistry(GroupChildrenTable groups, PackWiring? pack = null, TimeProvider? time = null)
    {
        var factory = new WorkerFactory();
        GroupWorker.Register(factory, groups);
        pack ??= new PackWiring();
        WorkerPack.Register(factory, new WorkerPackOptions
        {
            Mqtt = pack.Mqtt,
            Time = time ?? TimeProvider.System,
            LoggerFactory = pack.Loggers,
            Templates = pack.Templates,
        });
        return factory;
    }

    /// <summary>The load options of <c>run</c> and <c>validate</c>.</summary>
    public static ConfigLoadOptions LoadOptions(WorkerFactory registry, string? profilesDirectory, string? profile, string? broker) => new()
    {
        Registry = registry,
        Profiles = Profiles(profilesDirectory),
        ProfileOverride = profile,
        BrokerOverride = broker,
        DefaultRuntimeId = DefaultRuntimeId(Environment.MachineName),
    };

    /// <summary>§3.2: the host name lower-cased, characters outside <c>[a-z0-9_-]</c> replaced by <c>-</c>, at most 64.</summary>
    public static string DefaultRuntimeId(string hostName)
    {
        var id = new StringBuilder(hostName.Length);
        foreach (char c in hostName.ToLowerInvariant())
        {
            id.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '-');
        }

        string text = id.ToString().TrimStart('-', '_');
        if (text.Length > 64)
        {
            text = text[..64];
        }

        return text.Length == 0 ? "fsm2-edge" : text;
    }

    /// <summary>The informational version of the host.</summary>
    public static string Version => typeof(HostEnvironment).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
