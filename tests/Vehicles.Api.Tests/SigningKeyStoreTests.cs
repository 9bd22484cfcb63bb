using Microsoft.Extensions.Configuration;
using Vehicles.Api.Security;

namespace Vehicles.Api.Tests;

public sealed class SigningKeyStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "vehicles-keys-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private IConfiguration Configuration(string? signingKey = null) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:DataDirectory"] = _directory, ["Tokens:SigningKey"] = signingKey })
        .Build();

    [Fact]
    public void LoadOptions_WithoutConfiguredKey_CreatesKeyFileOnceAndReusesIt()
    {
        var first = SigningKeyStore.LoadOptions(Configuration(), out var keyFile, out var created);
        var second = SigningKeyStore.LoadOptions(Configuration(), out var keyFileAgain, out var createdAgain);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(Path.Combine(_directory, SigningKeyStore.KeyFileName), keyFile);
        Assert.Equal(keyFile, keyFileAgain);
        Assert.Equal(first.SigningKey, second.SigningKey);
        Assert.Equal(32, Convert.FromBase64String(first.SigningKey).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile!));
        }
    }

    [Fact]
    public void LoadOptions_WithConfiguredKey_UsesItAndWritesNothing()
    {
        var key = Convert.ToBase64String(new byte[32]);

        var options = SigningKeyStore.LoadOptions(Configuration(key), out var keyFile, out var created);

        Assert.Equal(key, options.SigningKey);
        Assert.Null(keyFile);
        Assert.False(created);
        Assert.False(Directory.Exists(_directory));
    }
}
