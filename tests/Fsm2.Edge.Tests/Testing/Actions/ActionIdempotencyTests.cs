using Fsm2.Edge.Testing.Actions;
using Fsm2.Edge.Workers;
using Fsm2.Edge.Workers.Calibration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Fsm2.Edge.Tests.Testing.Actions;

public sealed class ActionIdempotencyTests
{
    private static ActionContext ContextFor(object dependencies) => new()
    {
        Worker = new Identity("w", "w", "synthetic", ""),
        NodePath = "w",
        Dependencies = dependencies,
        Time = new FakeTimeProvider(),
        Logger = NullLogger.Instance,
    };

    [Fact]
    [Trait("spec", "A-31")]
    public async Task A31_IdempotentAction_VerifyThreeTimesPasses()
    {
        // arrange
        var worker = new SyntheticWorker();

        // act + assert: starting an already started process leaves it started.
        await ActionIdempotency.VerifyAsync(SyntheticStates.StartAction.Instance, ContextFor(worker), 3, () => worker.IsProcessRunning);
        Assert.True(worker.IsProcessRunning);
    }

    [Fact]
    [Trait("spec", "A-31")]
    public async Task A31_CounterIncrementingAction_VerifyFailsNamingTheKind()
    {
        // arrange
        var counter = new Counter();

        // act
        ActionIdempotencyException error = await Assert.ThrowsAsync<ActionIdempotencyException>(
            () => ActionIdempotency.VerifyAsync(new IncrementAction(), ContextFor(counter), 3, () => counter.Value));

        // assert
        Assert.Contains("'increment'", error.Message, StringComparison.Ordinal);
        Assert.Contains("run 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("spec", "A-31")]
    public async Task A31_FromAPreparedState_StopIsIdempotentToo()
    {
        var worker = new SyntheticWorker(startedInitially: false);
        await ActionIdempotency.VerifyWithSetupAsync(
            worker.StartProcess, SyntheticStates.StopAction.Instance, ContextFor(worker), 4, () => worker.IsProcessRunning);
        Assert.False(worker.IsProcessRunning);
    }

    [Fact]
    [Trait("spec", "A-32")]
    public async Task A32_EveryCalibrationActionInterruptedAfterFirstAwait_EndsAsOneCleanRun()
    {
        // arrange: the built-in calibration actions and the end state one clean run gives.
        (IAction Action, bool Expected)[] actions =
        [
            (SyntheticStates.StartAction.Instance, true),
            (SyntheticStates.StopAction.Instance, false),
        ];

        foreach ((IAction action, bool expected) in actions)
        {
            var worker = new SyntheticWorker(startedInitially: !expected);

            // act: cancel the first run at its first await (these complete synchronously, so the cancel comes after),
            // then run it to completion.
            await ActionIdempotency.VerifyInterruptedAsync(
                action,
                ContextFor(worker),
                static (source, _) => source.CancelAsync(),
                expected,
                () => worker.IsProcessRunning);

            // assert
            Assert.Equal(expected, worker.IsProcessRunning);
        }
    }

    [Fact]
    [Trait("spec", "A-32")]
    public async Task A32_ActionLeavingHalfDoneStateWhenInterrupted_FailsTheCheck()
    {
        // arrange: an action that writes half its effect, awaits, then finishes — and on a resumed run only checks
        // the first half, so an interruption leaves it half done.
        var state = new HalfState();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var action = new TwoStepAction(gate.Task);

        // act
        ActionIdempotencyException error = await Assert.ThrowsAsync<ActionIdempotencyException>(
            () => ActionIdempotency.VerifyInterruptedAsync(
                action,
                ContextFor(state),
                async (source, _) =>
                {
                    await source.CancelAsync();
                    gate.TrySetResult();
                },
                "AB",
                () => state.Value));

        // assert
        Assert.Contains("'two-step'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyOverlap_IdempotentStart_EndStateValid()
    {
        var worker = new SyntheticWorker();
        await ActionIdempotency.VerifyOverlapAsync(SyntheticStates.StartAction.Instance, ContextFor(worker), () => worker.IsProcessRunning, running => running);
    }

    private sealed class Counter
    {
        public int Value;
    }

    private sealed class IncrementAction : IAction
    {
        public string Kind => "increment";

        public ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref ((Counter)context.Dependencies).Value);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class HalfState
    {
        public string Value = "";
    }

    private sealed class TwoStepAction(Task gate) : IAction
    {
        public string Kind => "two-step";

        public async ValueTask ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            var state = (HalfState)context.Dependencies;
            if (state.Value.StartsWith('A'))
            {
                return; // the flawed "already done" check
            }

            state.Value = "A";
            await gate.WaitAsync(cancellationToken);
            state.Value += "B";
        }
    }
}
