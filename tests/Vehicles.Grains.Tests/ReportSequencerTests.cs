using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

public sealed class ReportSequencerTests
{
    [Fact]
    public void TryApply_WithAGapThatFills_AdvancesAppliedSequenceOverTheEarlyOnes()
    {
        var state = new VehicleGrainState();

        var results = new ulong[] { 1, 3, 4, 2 }.Select(s => ReportSequencer.TryApply(state, s, 32)).ToArray();

        Assert.Equal([true, true, true, true], results);
        Assert.Equal(4UL, state.AppliedSequence);
        Assert.Empty(state.AppliedAbove);
    }

    [Fact]
    public void TryApply_WhileAGapIsOpen_KeepsEarlyOnesAboveTheAppliedSequence()
    {
        var state = new VehicleGrainState();
        ReportSequencer.TryApply(state, 1, 32);
        ReportSequencer.TryApply(state, 3, 32);

        var duplicate = ReportSequencer.TryApply(state, 3, 32);

        Assert.False(duplicate);
        Assert.Equal(1UL, state.AppliedSequence);
        Assert.Equal([3UL], state.AppliedAbove);
    }

    [Fact]
    public void TryApply_WhenTheGapOutgrowsTheWindow_GivesUpTheMissingReports()
    {
        var state = new VehicleGrainState();
        ReportSequencer.TryApply(state, 1, 4);

        var applied = ReportSequencer.TryApply(state, 10, 4);
        var lost = ReportSequencer.TryApply(state, 5, 4);
        var late = ReportSequencer.TryApply(state, 7, 4);

        Assert.True(applied);
        Assert.False(lost);
        Assert.True(late);
        Assert.Equal(7UL, state.AppliedSequence);
        Assert.Equal([10UL], state.AppliedAbove);
    }
}
