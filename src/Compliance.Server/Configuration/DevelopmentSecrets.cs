using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Configuration;

/// <summary>
/// In Development, secrets that are not configured are generated once into the data directory (readable by the
/// owner only) so that a new user can start the service with no setup. Elsewhere they must be configured.
/// </summary>
internal sealed class DevelopmentSecrets(IHostEnvironment environment) : IPostConfigureOptions<ComplianceOptions>
{
    public void PostConfigure(string? name, ComplianceOptions options)
    {
        if (!environment.IsDevelopment())
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(options.Privacy.ContactHashKey))
        {
            options.Privacy.ContactHashKey = ReadOrCreate(options.DataDirectory, "contact-hash.key", 32);
        }

        if (string.IsNullOrWhiteSpace(options.Audit.SigningKey))
        {
            var file = Path.Combine(options.DataDirectory, "ledger-signing-key.pem");
            if (!File.Exists(file))
            {
                using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
                Directory.CreateDirectory(options.DataDirectory);
                File.WriteAllText(file, key.ExportPkcs8PrivateKeyPem());
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }

            options.Audit.SigningKey = File.ReadAllText(file);
        }

        if (string.IsNullOrWhiteSpace(options.Auth.PlatformAdminKey))
        {
            options.Auth.PlatformAdminKey = ReadOrCreate(options.DataDirectory, "platform-admin.key", 32);
        }
    }

    private static string ReadOrCreate(string directory, string fileName, int bytes)
    {
        var file = Path.Combine(directory, fileName);
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }

        Directory.CreateDirectory(directory);
        var value = Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));
        File.WriteAllText(file, value);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return value;
    }
}
