using System.Globalization;
using System.Net;
using System.Text;

namespace Vehicles.LoadTest;

/// <summary>A line chart as inline SVG: no script, no external resource, readable in any browser and offline.</summary>
internal static class SvgChart
{
    private const int Width = 900;
    private const int Height = 280;
    private const int Left = 64;
    private const int Right = 16;
    private const int Top = 28;
    private const int Bottom = 40;

    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

    public static string Render(string title, string yUnit, IReadOnlyList<Series> series)
    {
        var all = series.SelectMany(s => s.Points).ToArray();
        var maxX = all.Length == 0 ? 1 : Math.Max(all.Max(p => p.X), 1e-9);
        var maxY = NiceCeiling(all.Length == 0 ? 1 : all.Max(p => p.Y));
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Encode(title)}\">");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" class=\"title\">{Encode(title)}</text>");
        for (var i = 0; i <= 4; i++)
        {
            var value = maxY * i / 4;
            var y = Top + plotHeight - (plotHeight * i / 4.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Width - Right}\" y2=\"{y:0.#}\" class=\"grid\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\" class=\"tick\">{value:0.###}</text>");
        }

        for (var i = 0; i <= 5; i++)
        {
            var x = Left + (plotWidth * i / 5.0);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x:0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\" class=\"tick\">{maxX * i / 5:0.#}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right}\" y=\"{Height - 6}\" text-anchor=\"end\" class=\"tick\">seconds</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{Top + (plotHeight / 2)}\" transform=\"rotate(-90 12 {Top + (plotHeight / 2)})\" text-anchor=\"middle\" class=\"tick\">{Encode(yUnit)}</text>");
        var legendX = Left + 260;
        foreach (var s in series)
        {
            if (s.Points.Count > 0)
            {
                var points = string.Join(' ', s.Points.Select(p => string.Create(
                    CultureInfo.InvariantCulture,
                    $"{Left + (plotWidth * p.X / maxX):0.#},{Top + plotHeight - (plotHeight * Math.Min(p.Y, maxY) / maxY):0.#}")));
                svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.5\" points=\"{points}\"/>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legendX}\" y=\"9\" width=\"10\" height=\"10\" fill=\"{s.Color}\"/><text x=\"{legendX + 14}\" y=\"18\" class=\"tick\">{Encode(s.Name)}</text>");
            legendX += 90;
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    private static double NiceCeiling(double value)
    {
        if (value <= 0 || !double.IsFinite(value))
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (value <= step * magnitude)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
