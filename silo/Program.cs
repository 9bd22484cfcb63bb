using Vehicles.Silo;

var builder = WebApplication.CreateBuilder(args);
builder.AddVehiclesSilo();

var app = builder.Build();
app.MapVehiclesSilo();
app.Run();
