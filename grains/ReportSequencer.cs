using Vehicles.Grains.State;

namespace Vehicles.Grains;

/// <summary>
/// Decides whether a status report sequence is new. Every sequence up to <see cref="VehicleGrainState.AppliedSequence"/>
/// was applied (or given up); those above it that arrived early are in <see cref="VehicleGrainState.AppliedAbove"/>.
/// Both are persisted with the signals they produced, so a resend after a restart is recognised exactly.
/// </summary>
internal static class ReportSequencer
{
    /// <summary>Returns <see langword="true"/> and records the sequence when it is new and within the window; <see langword="false"/> for a duplicate or a report too far behind.</summary>
    public static bool TryApply(VehicleGrainState state, ulong sequence, int window)
    {
        var applied = state.AppliedSequence;
        var above = state.AppliedAbove;
        if (sequence <= applied)
        {
            return false;
        }

        var newest = above.Count > 0 ? above[^1] : applied;
        if (sequence < newest && newest - sequence > (ulong)window)
        {
            return false;
        }

        var index = 0;
        while (index < above.Count && above[index] < sequence)
        {
            index++;
        }

        if (index < above.Count && above[index] == sequence)
        {
            return false;
        }

        above.Insert(index, sequence);
        newest = above[^1];

        // A gap wider than the window will not be filled: the reports in it are given up as lost, so the durable
        // sequence keeps moving and the vehicle stops resending them.
        if (newest - applied > (ulong)window)
        {
            applied = newest - (ulong)window;
        }

        var drop = 0;
        while (drop < above.Count && above[drop] <= applied + 1)
        {
            applied = Math.Max(applied, above[drop]);
            drop++;
        }

        for (var i = 0; i < drop; i++)
        {
            above.RemoveAt(0);
        }

        state.AppliedSequence = applied;
        return true;
    }
}
