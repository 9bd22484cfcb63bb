using Vehicles.Silo;

if (args is ["token", ..])
{
    return TokenCommand.Run(args[1..], Console.Out, Console.Error);
}

if (args is ["cluster", ..])
{
    return await ClusterCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddVehiclesSilo();

var app = builder.Build();
app.MapVehiclesSilo();
await app.RunAsync();

// Non-zero when the cluster declared this silo dead (see ClusterRuntime): a supervisor should start a new process.
return Environment.ExitCode;
