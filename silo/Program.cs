using Vehicles.Silo;

if (args is ["token", ..])
{
    return TokenCommand.Run(args[1..], Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddVehiclesSilo();

var app = builder.Build();
app.MapVehiclesSilo();
app.Run();
return 0;
