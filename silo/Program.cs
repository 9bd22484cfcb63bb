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

// A silo the cluster declares dead does not get here: it exits with code 3 (see ExitOnFatalError).
return 0;
