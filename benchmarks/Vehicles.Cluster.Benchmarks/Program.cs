using Vehicles.Cluster.Benchmarks;

return await CallBenchmark.RunAsync(args);
