using System.CommandLine;
using Res2Net.Models;
using Res2Net.Weights;

namespace Res2Net.Cli;

/// <summary>Runs a command body and turns failures into one line on stderr and an exit code.</summary>
internal static class Run
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static int Guarded(ParseResult parse, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Error(parse, e.Message, e);
            return e is UnknownModelException or ArgumentException or NotSupportedException ? Usage : Failed;
        }
        catch (Exception e)
        {
            Error(parse, $"unexpected failure: {e.Message}", e);
            return Failed;
        }
    }

    public static void Error(ParseResult parse, string message, Exception? e = null)
    {
        Console.Error.WriteLine($"res2net: error: {message}");
        if (e is not null && parse.GetValue(Options.Verbose))
        {
            Console.Error.WriteLine(e);
        }
    }

    private static bool IsUserError(Exception e) => e is CheckpointFormatException or WeightsMismatchException or WeightsDownloadException or Res2Net.Imaging.ImageDecodeException
        or UnknownModelException or ArgumentException or NotSupportedException or IOException or UnauthorizedAccessException or InvalidDataException;
}
