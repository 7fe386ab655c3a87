using System.Globalization;

namespace LoadGen;

/// <summary>The child side of <see cref="ChildShard"/>: holds subscribers and answers the coordinator's commands.</summary>
internal static class ShardMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = GroupOptions.From(args);
        args.RejectUnknown();
        await using var group = new SubscriberGroup(options);
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "ADD":
                    var summary = await group.AddAsync(Int(parts[1]), Int(parts[2])).ConfigureAwait(false);
                    Console.Out.WriteLine("ADDED " + Json.Write(summary));
                    break;
                case "STEP":
                    group.BeginStep(Long(parts[1]), Int(parts[2]));
                    Console.Out.WriteLine("OK");
                    break;
                case "END":
                    var result = await group.EndStepAsync(Long(parts[1]), Int(parts[2])).ConfigureAwait(false);
                    Console.Out.WriteLine("RESULT " + Json.Write(result));
                    break;
                case "QUIT":
                    return 0;
                default:
                    Console.Error.WriteLine($"shard: unknown command '{line}'");
                    return 2;
            }

            Console.Out.Flush();
        }

        return 0;
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
    private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);
}
