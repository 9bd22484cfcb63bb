return await Vehicles.LoadTest.LoadTestApp.MainAsync(args);
