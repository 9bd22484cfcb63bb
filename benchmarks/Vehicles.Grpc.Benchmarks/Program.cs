using System.Runtime.InteropServices;
using Vehicles.Grpc.Benchmarks;

// Serves TestService/Echo through Grpc.AspNetCore and plain Kestrel baselines on one h2c port of 127.0.0.1 until
// SIGTERM or SIGINT; scripts/bench-grpc.sh drives both with h2load. --request-file PATH writes the framed
// EchoRequest that h2load posts.
var settings = BenchmarkSettings.Parse(args);
var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

await using var server = await BenchmarkServer.StartAsync(settings);
Console.WriteLine($"listening {server.Address.GetLeftPart(UriPartial.Authority)}");
await stop.Task;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
