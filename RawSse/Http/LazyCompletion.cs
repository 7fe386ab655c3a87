namespace RawSse.Http;

/// <summary>
/// A completion made only when someone asks for it (the server's stop waits for every connection), so a connection
/// nobody waits for holds no task. <see cref="Set"/> may come before or after the first <see cref="Task"/>. A mutable
/// struct: keep it in a field, never copy it.
/// </summary>
internal struct LazyCompletion
{
    private TaskCompletionSource? _source;
    private int _set;

    public Task Task
    {
        get
        {
            var source = Volatile.Read(ref _source);
            if (source is null)
            {
                var made = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                source = Interlocked.CompareExchange(ref _source, made, null) ?? made;
            }

            if (Volatile.Read(ref _set) != 0)
            {
                source.TrySetResult(); // set before anyone asked, or while the source was being made
            }

            return source.Task;
        }
    }

    public void Set()
    {
        Interlocked.Exchange(ref _set, 1); // a full fence: pairs with the CompareExchange in Task
        Volatile.Read(ref _source)?.TrySetResult();
    }
}
