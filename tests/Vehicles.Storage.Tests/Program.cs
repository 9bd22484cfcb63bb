namespace Vehicles.Storage.Tests;

/// <summary>
/// The test assembly's entry point (the test SDK's generated one is turned off): the test runner never calls it; the
/// crash-safety test runs this assembly as a child process with <c>crash-writer</c>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args) =>
        args is ["crash-writer", ..] ? await CrashWriter.MainAsync(args[1..]) : 0;
}
