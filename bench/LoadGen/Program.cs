using LoadGen;

// The RawSse benchmark load generator. One mode per run; the last line printed is one JSON object.
const string Usage = """
    usage: LoadGen MODE [options]
      fanout   --url http://127.0.0.1:P/sse?topic=bench --subscribers N --rates 10,50,100 --duration S --size BYTES
               [--server-pid PID] [--max-p99-ms 100] [--stop-p99-ms 1000] [--retry-disturbed 25] [--grace-ms 5000] [--window 256] [--stop-on-fail true|false] [--warmup 2]
               [--topic T (published to; default: the url's)] [--publish-auth "Bearer JWT"] [--publish-fields private=on]
               [--ports P1,P2,... --server-pids PID1,PID2,...] (several nodes: subscriber k and event SEQ go to port k and SEQ mod N
               of the url's host; CPU per delivery is reported per node) [--store-pid PID (nats-server)] [--scenario cluster]
      idle     --url ... --steps 1000,5000,10000 [--settle-ms 3000] [--server-pid PID]
      ticker   --url http://127.0.0.1:P/sse --subscribers N --duration S [--tick-period-ms 500] [--server-pid PID]
      startup  --url http://127.0.0.1:P/ [--runs 3] [--settle-ms 2000] -- SERVER COMMAND...
      static   --file NAME [--server-pid PID] -- wrk --latency ... URL
      ingest   --url http://127.0.0.1:P/sse?topic=T --subscribers N [--case NAME] [--warmup S] [--server-pid PID] -- wrk --latency -d10s ... URL
               (N subscribers read topic T while wrk runs; --warmup runs the same command for S seconds first)
      noise    [--duration 3]   (spin on this CPU and report how long the machine took it away)
      selftest          (the SSE scanner, chunked decoder and histogram, offline; ends "N passed, N failed")
      report   --in results.jsonl --out results.md [--charts DIR] [--meta meta.txt]
    common: --label NAME, --per-process 15000 (subscribers per process; more are sharded to child processes),
            --per-address 2000 (subscribers per source address 127.0.0.2, .3, ...), --connect-concurrency 200,
            --buffer 8192 (receive buffer per subscriber)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = new Args(args.Skip(1));
    return args[0] switch
    {
        "fanout" => await FanoutMode.RunAsync(options),
        "idle" => await IdleMode.RunAsync(options),
        "ticker" => await TickerMode.RunAsync(options),
        "startup" => await StartupMode.RunAsync(options),
        "static" => await StaticMode.RunAsync(options),
        "ingest" => await IngestMode.RunAsync(options),
        "noise" => NoiseMode.Run(options),
        "selftest" => SelfTestMode.Run(options),
        "report" => ReportMode.Run(options),
        "shard" => await ShardMode.RunAsync(options),
        _ => throw new ArgumentException($"unknown mode '{args[0]}'"),
    };
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"loadgen: {ex.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
