namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// The silos clients may use, as a load balancer would see them: round-robin over the members, with silos added when
/// they join and removed (drained) before they leave or as soon as they crash.
/// </summary>
public sealed class SiloRotation
{
    private readonly Lock _lock = new();
    private readonly List<SiloProcess> _silos;
    private readonly Dictionary<SiloProcess, int> _leases = [];
    private int _next;

    /// <summary>Creates a rotation over <paramref name="silos"/>.</summary>
    public SiloRotation(IEnumerable<SiloProcess> silos)
    {
        _silos = [.. silos];
        if (_silos.Count == 0)
        {
            throw new ArgumentException("a rotation needs a silo", nameof(silos));
        }
    }

    /// <summary>The members now.</summary>
    public IReadOnlyList<SiloProcess> Members
    {
        get
        {
            lock (_lock)
            {
                return [.. _silos];
            }
        }
    }

    /// <summary>The next member, round-robin.</summary>
    public SiloProcess Next()
    {
        lock (_lock)
        {
            _next = (_next + 1) % _silos.Count;
            return _silos[_next];
        }
    }

    /// <summary>The next member, held until the lease is disposed, so that <see cref="DrainAsync"/> can wait for the call.</summary>
    public SiloLease Lease()
    {
        lock (_lock)
        {
            _next = (_next + 1) % _silos.Count;
            var silo = _silos[_next];
            _leases[silo] = _leases.GetValueOrDefault(silo) + 1;
            return new SiloLease(this, silo);
        }
    }

    /// <summary>
    /// Takes <paramref name="silo"/> out of the rotation and waits until no leased call is still using it, as a load
    /// balancer drains a backend before it is stopped.
    /// </summary>
    public async Task DrainAsync(SiloProcess silo, TimeSpan timeout)
    {
        Remove(silo);
        var drained = await Poll.UntilAsync(
            () =>
            {
                lock (_lock)
                {
                    return Task.FromResult(_leases.GetValueOrDefault(silo) == 0);
                }
            },
            timeout,
            TimeSpan.FromMilliseconds(10));
        if (!drained)
        {
            throw new TimeoutException("calls to " + silo.Name + " still ran " + timeout + " after it left the rotation");
        }
    }

    /// <summary>Member <paramref name="index"/> modulo the count: spreads vehicles evenly at the start.</summary>
    public SiloProcess At(int index)
    {
        lock (_lock)
        {
            return _silos[index % _silos.Count];
        }
    }

    /// <summary>A new member.</summary>
    public void Add(SiloProcess silo)
    {
        lock (_lock)
        {
            _silos.Add(silo);
        }
    }

    /// <summary>No new calls or streams go to <paramref name="silo"/>; those already there carry on.</summary>
    public void Remove(SiloProcess silo)
    {
        lock (_lock)
        {
            _silos.Remove(silo);
        }
    }

    private void Release(SiloProcess silo)
    {
        lock (_lock)
        {
            _leases[silo]--;
        }
    }

    /// <summary>A silo taken from the rotation for one call.</summary>
    public readonly struct SiloLease(SiloRotation rotation, SiloProcess silo) : IDisposable
    {
        /// <summary>The silo to call.</summary>
        public SiloProcess Silo => silo;

        /// <summary>The call is over.</summary>
        public void Dispose() => rotation.Release(silo);
    }
}
