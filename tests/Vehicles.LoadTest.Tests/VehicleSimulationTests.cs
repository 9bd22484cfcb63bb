namespace Vehicles.LoadTest.Tests;

public sealed class VehicleSimulationTests
{
    [Theory]
    [InlineData("1M8GDM9AXKP042788", 'X')]
    [InlineData("11111111111111111", '1')]
    [InlineData("1HGCM82633A004352", '3')]
    public void CheckDigit_OfKnownVins_MatchesTheirNinthCharacter(string vin, char expected)
    {
        Assert.Equal(expected, VinGenerator.CheckDigit(vin));
    }

    [Fact]
    public void Create_GivesDistinctVinsWithValidCheckDigitsAndAlphabet()
    {
        var generator = new VinGenerator("ABC12");

        var vins = Enumerable.Range(0, 2000).Select(i => generator.Create(i * 16_500)).ToList();

        Assert.Equal(2000, vins.Distinct(StringComparer.Ordinal).Count());
        Assert.All(vins, vin =>
        {
            Assert.Equal(17, vin.Length);
            Assert.All(vin, c => Assert.Contains(c, VinGenerator.Alphabet));
            Assert.Equal(VinGenerator.CheckDigit(vin), vin[8]);
            Assert.Equal("ABC12", vin[3..8]);
        });
    }

    [Fact]
    public void Constructor_WithLetterOutsideTheVinAlphabet_Throws()
    {
        Assert.Throws<ArgumentException>(() => new VinGenerator("ABCIO"));
    }

    [Fact]
    public void Advance_OverAnHour_MovesAlongTheRouteDrainsTheBatteryAndStaysInRange()
    {
        var route = new RouteSimulator(seed: 7);
        var first = route.Advance(TimeSpan.Zero);
        var odometerStart = route.OdometerKm;

        var signals = Enumerable.Range(0, 3600).Select(_ => route.Advance(TimeSpan.FromSeconds(1))).ToList();

        Assert.True(route.OdometerKm - odometerStart > 5, "the vehicle hardly moved");
        Assert.Contains(signals, s => s.Latitude != first.Latitude || s.Longitude != first.Longitude);
        Assert.Contains(signals, s => s.StateOfCharge < first.StateOfCharge);
        Assert.All(signals, s =>
        {
            Assert.InRange(s.Speed, 0, 500);
            Assert.InRange(s.Latitude, -90, 90);
            Assert.InRange(s.Longitude, -180, 180);
            Assert.InRange(s.Heading, 0, 360);
            Assert.InRange(s.StateOfCharge, 0, 100);
            Assert.InRange(s.Range, 0, 5_000_000);
        });
        Assert.Equal(signals.Select(s => s.TraveledDistance).Order(), signals.Select(s => s.TraveledDistance));
    }

    [Fact]
    public void Advance_WithTheSameSeed_RepeatsTheRoute()
    {
        var a = new RouteSimulator(42);
        var b = new RouteSimulator(42);

        Assert.Equal(a.Advance(TimeSpan.FromSeconds(5)), b.Advance(TimeSpan.FromSeconds(5)));
    }
}
