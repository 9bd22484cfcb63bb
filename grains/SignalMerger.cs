using Google.Protobuf.Reflection;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// Merges a status report into a vehicle's signals. A report captured at or after the newest merged one overwrites
/// every signal it carries. A report captured earlier (it arrived out of order) only fills signals the vehicle has
/// never reported, so an older value never replaces a newer one; the vehicle's capture time stays the newest.
/// </summary>
internal static class SignalMerger
{
    private static readonly FieldDescriptor[] _typedFields =
        [.. Signals.Descriptor.Fields.InFieldNumberOrder().Where(f => !f.IsMap)];

    public static void Merge(Vehicle vehicle, StatusReport report)
    {
        vehicle.Signals ??= new Signals();
        if (report.Signals is null)
        {
            return;
        }

        if (vehicle.CaptureTime is null || report.CaptureTime is null || report.CaptureTime >= vehicle.CaptureTime)
        {
            vehicle.Signals.MergeFrom(report.Signals);
            if (report.CaptureTime is not null)
            {
                vehicle.CaptureTime = report.CaptureTime.Clone();
            }

            return;
        }

        FillMissing(vehicle.Signals, report.Signals);
    }

    private static void FillMissing(Signals target, Signals late)
    {
        foreach (var field in _typedFields)
        {
            var accessor = field.Accessor;
            if (field.HasPresence)
            {
                if (accessor.HasValue(late) && !accessor.HasValue(target))
                {
                    accessor.SetValue(target, accessor.GetValue(late));
                }
            }
            else if (field.FieldType == FieldType.Enum && Convert.ToInt32(accessor.GetValue(late), System.Globalization.CultureInfo.InvariantCulture) != 0
                && Convert.ToInt32(accessor.GetValue(target), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                accessor.SetValue(target, accessor.GetValue(late));
            }
        }

        foreach (var (key, value) in late.Extra)
        {
            target.Extra.TryAdd(key, value.Clone());
        }
    }
}
