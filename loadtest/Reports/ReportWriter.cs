using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vehicles.LoadTest;

/// <summary>Writes a run's reports to a folder: Markdown, self-contained HTML, CSV (time series) and JSON (all).</summary>
public static class ReportWriter
{
    /// <summary>The JSON settings of <c>report.json</c>; use them to read it back.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes <c>report.md</c>, <c>report.html</c>, <c>timeseries.csv</c> and <c>report.json</c>.</summary>
    /// <returns>The paths written.</returns>
    public static async Task<IReadOnlyList<string>> WriteAllAsync(RunReport report, string folder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        var files = new (string Name, string Content)[]
        {
            ("report.md", MarkdownReport.Render(report)),
            ("report.html", HtmlReport.Render(report)),
            ("timeseries.csv", CsvReport.Render(report)),
            ("report.json", JsonSerializer.Serialize(report, JsonOptions)),
        };
        var paths = new List<string>();
        foreach (var (name, content) in files)
        {
            var path = Path.Combine(folder, name);
            await File.WriteAllTextAsync(path, content, cancellationToken);
            paths.Add(path);
        }

        return paths;
    }

    /// <summary>Reads a <c>report.json</c> written by <see cref="WriteAllAsync"/>.</summary>
    public static async Task<RunReport> ReadJsonAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<RunReport>(stream, JsonOptions, cancellationToken)
            ?? throw new InvalidDataException($"{path} holds no report.");
    }
}
