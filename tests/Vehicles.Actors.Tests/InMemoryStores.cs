using System.Collections.Concurrent;
using Vehicles.Persistence;

namespace Vehicles.Actors.Tests;

/// <summary>An <see cref="IGrainStorage"/> with the ETag check the real providers make.</summary>
public sealed class InMemoryGrainStorage : IGrainStorage
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string, string), StoredState> _rows = [];
    private long _etag;

    public int Writes { get; private set; }

    public Task<StoredState?> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_rows.GetValueOrDefault((grainType, grainKey)));
        }
    }

    public Task<string> WriteAsync(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var stored = _rows.GetValueOrDefault((grainType, grainKey));
            if (stored?.Etag != expectedEtag)
            {
                return Task.FromException<string>(new InconsistentStateException("ETag mismatch", stored?.Etag, expectedEtag));
            }

            var etag = (++_etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _rows[(grainType, grainKey)] = new StoredState(data.ToArray(), etag);
            Writes++;
            return Task.FromResult(etag);
        }
    }

    public Task ClearAsync(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var stored = _rows.GetValueOrDefault((grainType, grainKey));
            if (stored?.Etag != expectedEtag)
            {
                return Task.FromException(new InconsistentStateException("ETag mismatch", stored?.Etag, expectedEtag));
            }

            _rows.Remove((grainType, grainKey));
            return Task.CompletedTask;
        }
    }
}

/// <summary>An in-memory <see cref="IReminderTable"/>; shared between two runtimes it plays the durable table across a restart.</summary>
public sealed class InMemoryReminderTable : IReminderTable
{
    private readonly ConcurrentDictionary<(string, string, string), ReminderEntry> _rows = new();

    public int Count => _rows.Count;

    public IReadOnlyList<ReminderEntry> Rows => [.. _rows.Values];

    public Task UpsertAsync(ReminderEntry entry, CancellationToken cancellationToken = default)
    {
        _rows[(entry.GrainType, entry.GrainKey, entry.Name)] = entry;
        return Task.CompletedTask;
    }

    public Task<bool> RemoveAsync(string grainType, string grainKey, string name, CancellationToken cancellationToken = default)
        => Task.FromResult(_rows.TryRemove((grainType, grainKey, name), out _));

    public Task<IReadOnlyList<ReminderEntry>> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<ReminderEntry>>([.. _rows.Values.Where(e => e.GrainType == grainType && e.GrainKey == grainKey)]);

    public Task<IReadOnlyList<ReminderEntry>> ReadAllAsync(Func<string, string, bool>? grainKeyFilter = null, CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<ReminderEntry>>([.. _rows.Values.Where(e => grainKeyFilter?.Invoke(e.GrainType, e.GrainKey) ?? true)]);
}
