using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Vehicles.Api.Security;

/// <summary>
/// Finds the token signing key: <c>Tokens:SigningKey</c> when configured, otherwise the key file in the silo's data
/// folder (<c>Storage:DataDirectory</c>/<see cref="KeyFileName"/>), created with a random key on first use so a fresh
/// clone works and tokens survive restarts. The silo and the token command share it, so both sign alike.
/// </summary>
public static class SigningKeyStore
{
    /// <summary>Name of the key file in the data folder.</summary>
    public const string KeyFileName = "signing-key";

    /// <summary>
    /// Binds <see cref="TokenOptions"/> from <paramref name="configuration"/> and fills <see cref="TokenOptions.SigningKey"/>
    /// from the key file when none is configured.
    /// </summary>
    /// <param name="configuration">The application configuration (root).</param>
    /// <param name="keyFile">Set to the key file used, or <see langword="null"/> when the key came from configuration.</param>
    /// <param name="created">Whether the key file was created by this call.</param>
    public static TokenOptions LoadOptions(IConfiguration configuration, out string? keyFile, out bool created)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new TokenOptions();
        configuration.GetSection(TokenOptions.SectionName).Bind(options);
        keyFile = null;
        created = false;
        if (string.IsNullOrWhiteSpace(options.SigningKey))
        {
            var dataDirectory = configuration["Storage:DataDirectory"];
            keyFile = Path.GetFullPath(Path.Combine(string.IsNullOrEmpty(dataDirectory) ? "./data" : dataDirectory, KeyFileName));
            options.SigningKey = ReadOrCreate(keyFile, out created);
        }

        return options;
    }

    /// <summary>Reads the base64 key in <paramref name="path"/>, or writes a new random 256-bit key there (owner-only) when the file is missing.</summary>
    public static string ReadOrCreate(string path, out bool created)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        created = false;
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(TokenOptions.MinKeyBytes));
        try
        {
            // CreateNew: when two processes start at once, one writes and the other reads what it wrote.
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(path, fileOptions);
            using var writer = new StreamWriter(stream);
            writer.Write(key);
            created = true;
            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }
    }
}
