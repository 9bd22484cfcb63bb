using System.Runtime.InteropServices;

namespace Vehicles.Cluster.IntegrationTests;

internal static partial class NativeMethods
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigStop = 19;
    public const int SigCont = 18;

    /// <summary>libc kill(2): Process.Kill only sends SIGKILL, and a graceful leave needs SIGTERM.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
