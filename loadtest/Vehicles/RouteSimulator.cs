using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// The physical state of one simulated electric vehicle driving laps of a circular route: its position moves along
/// the route at a speed that drifts like traffic, the battery drains with distance and recharges when low, the
/// odometer grows. Not thread-safe: one vehicle advances it.
/// </summary>
public sealed class RouteSimulator
{
    private const double EarthRadiusKm = 6371.0;
    private const double ConsumptionPercentPerKm = 0.24;
    private const double ChargePercentPerSecond = 0.05;
    private const double RangeMetresPerPercent = 4_500;

    private readonly Random _random;
    private readonly double _centreLatitude;
    private readonly double _centreLongitude;
    private readonly double _radiusKm;
    private readonly double _direction;
    private double _angle;
    private double _speedKmh;
    private double _stateOfCharge;
    private double _odometerKm;
    private double _temperature;
    private bool _charging;

    /// <summary>Creates a vehicle somewhere around Munich, with a seed so a run can be repeated.</summary>
    public RouteSimulator(int seed)
    {
        _random = new Random(seed);
        _centreLatitude = 48.137 + ((_random.NextDouble() - 0.5) * 0.5);
        _centreLongitude = 11.575 + ((_random.NextDouble() - 0.5) * 0.8);
        _radiusKm = 1 + (_random.NextDouble() * 9);
        _direction = _random.Next(2) == 0 ? 1 : -1;
        _angle = _random.NextDouble() * 2 * Math.PI;
        _speedKmh = _random.NextDouble() * 80;
        _stateOfCharge = 40 + (_random.NextDouble() * 60);
        _odometerKm = _random.Next(1_000, 150_000);
        _temperature = 5 + (_random.NextDouble() * 20);
    }

    /// <summary>Remaining charge in percent.</summary>
    public double StateOfCharge => _stateOfCharge;

    /// <summary>Odometer in km.</summary>
    public double OdometerKm => _odometerKm;

    /// <summary>Advances the simulation by <paramref name="elapsed"/> and returns the signals a vehicle would report.</summary>
    public Signals Advance(TimeSpan elapsed)
    {
        var seconds = Math.Clamp(elapsed.TotalSeconds, 0, 3600);
        if (_charging)
        {
            _speedKmh = 0;
            _stateOfCharge = Math.Min(100, _stateOfCharge + (ChargePercentPerSecond * seconds));
            _charging = _stateOfCharge < 80;
        }
        else
        {
            // A bounded random walk looks like traffic: accelerations and stops, rarely above motorway speed.
            _speedKmh = Math.Clamp(_speedKmh + ((_random.NextDouble() - 0.5) * 20 * Math.Min(seconds, 5)), 0, 130);
            var distanceKm = _speedKmh * seconds / 3600;
            _angle += _direction * distanceKm / _radiusKm;
            _odometerKm += distanceKm;
            _stateOfCharge = Math.Max(0, _stateOfCharge - (distanceKm * ConsumptionPercentPerKm));
            _charging = _stateOfCharge < 15;
        }

        _temperature = Math.Clamp(_temperature + ((_random.NextDouble() - 0.5) * 0.1), -30, 45);
        var northKm = _radiusKm * Math.Cos(_angle);
        var eastKm = _radiusKm * Math.Sin(_angle);
        var latitude = _centreLatitude + (northKm / EarthRadiusKm * 180 / Math.PI);
        var longitude = _centreLongitude + (eastKm / (EarthRadiusKm * Math.Cos(_centreLatitude * Math.PI / 180)) * 180 / Math.PI);
        // Tangent of the circle in the direction of travel, as a compass bearing.
        var heading = ((Math.Atan2(_direction * Math.Cos(_angle), -_direction * Math.Sin(_angle)) * 180 / Math.PI) + 360) % 360;
        return new Signals
        {
            Speed = Math.Round(_speedKmh, 1),
            Latitude = Math.Round(latitude, 6),
            Longitude = Math.Round(longitude, 6),
            Heading = Math.Round(heading, 1),
            StateOfCharge = Math.Round(_stateOfCharge, 2),
            Range = Math.Round(_stateOfCharge * RangeMetresPerPercent),
            TraveledDistance = Math.Round(_odometerKm, 3),
            IsCharging = _charging,
            IsMoving = _speedKmh > 0.5,
            ExteriorAirTemperature = Math.Round(_temperature, 1),
        };
    }
}
