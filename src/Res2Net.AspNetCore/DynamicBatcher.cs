using System.Collections.Concurrent;
using System.Diagnostics;
using Res2Net.Engines;

namespace Res2Net.AspNetCore;

/// <summary>
/// Coalesces single images into batches for one engine: up to MaxBatch images, the first waiting at most MaxDelay for
/// the others. The engine runs on one dedicated thread only, so TorchSharp's thread-bound memory scopes hold and
/// engines need not be thread-safe; callers wait on tasks. A bounded queue refuses work at once when full.
/// </summary>
internal sealed class DynamicBatcher : IDisposable
{
    private readonly Predictor predictor;
    private readonly string model;
    private readonly Res2NetModelOptions options;
    private readonly ServiceMetrics metrics;
    private readonly BlockingCollection<WorkItem> queue;
    private readonly Thread thread;
    private readonly CancellationTokenSource stopping = new();

    public DynamicBatcher(Predictor predictor, string model, Res2NetModelOptions options, ServiceMetrics metrics)
    {
        this.predictor = predictor;
        this.model = model;
        this.options = options;
        this.metrics = metrics;
        queue = new BlockingCollection<WorkItem>(options.MaxQueue);
        thread = new Thread(Loop) { IsBackground = true, Name = "res2net-batcher" };
        thread.Start();
    }

    /// <summary>
    /// Queues one preprocessed image (C, H, W); the task gives its row of the logits (when <paramref name="logits"/> is
    /// set) and then of each stage asked for. Images that ask for the same outputs share a forward pass.
    /// </summary>
    /// <param name="image">The preprocessed image.</param>
    /// <param name="logits">Whether the classifier's logits are wanted.</param>
    /// <param name="stages">The feature outputs wanted after the logits.</param>
    /// <param name="kind">What the image is for in the metrics (classify, embed, infer).</param>
    /// <param name="timeout">A shorter wait than the model's <see cref="Res2NetModelOptions.Timeout"/>, if the request asks for one.</param>
    /// <param name="cancellationToken">Drops the image if it has not reached the model.</param>
    public Task<IReadOnlyList<FloatTensor>> Enqueue(FloatTensor image, bool logits, IReadOnlyList<FeatureStage> stages, string kind, TimeSpan? timeout,
        CancellationToken cancellationToken)
    {
        var key = (logits ? "logits;" : ";") + string.Join(",", stages) + ";" + string.Join("x", image.Shape);
        var wait = timeout is { } t && t < options.Timeout ? t : options.Timeout;
        var item = new WorkItem(image, key, logits, stages, kind, Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency), wait, cancellationToken);
        bool added;
        try
        {
            added = queue.TryAdd(item);
        }
        catch (InvalidOperationException)
        {
            throw new ServiceUnavailableException("The service is stopping; send the request again once it is back.", TimeSpan.FromSeconds(5));
        }

        if (!added)
        {
            metrics.Rejected.WithLabels("queue_full", model).Inc();
            throw new ServiceUnavailableException($"The service is busy: {options.MaxQueue} images are already waiting for the model.", RetryAfter());
        }

        metrics.QueueDepth.WithLabels(model).Set(queue.Count);

        // A client that leaves is answered at once; its image is skipped when its turn comes.
        var registration = cancellationToken.Register(() => item.Result.TrySetCanceled(cancellationToken));
        _ = item.Result.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return item.Result.Task;
    }

    /// <summary>Lets the queued images finish, then stops the thread.</summary>
    public void Dispose()
    {
        queue.CompleteAdding();
        if (!thread.Join(options.Timeout + TimeSpan.FromSeconds(5)))
        {
            stopping.Cancel();
            thread.Join();
        }

        queue.Dispose();
        stopping.Dispose();
    }

    /// <summary>A client's wait: about the time the queue ahead of it takes, at least a second.</summary>
    private TimeSpan RetryAfter() => TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(metrics.InferenceSeconds.WithLabels(model).Sum / Math.Max(1, metrics.InferenceSeconds.WithLabels(model).Count)
        * queue.Count / options.MaxBatch), 1, 60));

    private void Loop()
    {
        var batch = new List<WorkItem>(options.MaxBatch);
        try
        {
            foreach (var first in queue.GetConsumingEnumerable(stopping.Token))
            {
                batch.Clear();
                batch.Add(first);
                var deadline = Stopwatch.GetTimestamp() + (long)(options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
                while (batch.Count < options.MaxBatch)
                {
                    var left = (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                    if (!queue.TryTake(out var next, (int)Math.Max(0, left)))
                    {
                        break;
                    }

                    batch.Add(next);
                }

                metrics.QueueDepth.WithLabels(model).Set(queue.Count);
                Run(batch);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped without waiting for the rest: fail what is left.
            while (queue.TryTake(out var item))
            {
                item.Result.TrySetException(new ServiceUnavailableException("The service stopped before this image reached the model.", TimeSpan.FromSeconds(5)));
            }
        }
    }

    private void Run(List<WorkItem> batch)
    {
        // Requests whose client went away or whose time ran out are dropped before the model, not after.
        var now = Stopwatch.GetTimestamp();
        var live = new List<WorkItem>(batch.Count);
        foreach (var item in batch)
        {
            if (item.Result.Task.IsCompleted || item.Cancellation.IsCancellationRequested)
            {
                item.Result.TrySetCanceled(item.Cancellation);
            }
            else if (now > item.Deadline)
            {
                metrics.Rejected.WithLabels("timeout", model).Inc();
                item.Result.TrySetException(new ServiceUnavailableException(
                    $"The request waited longer than {item.Wait.TotalSeconds:0.###} s for the model.", RetryAfter()));
            }
            else
            {
                live.Add(item);
            }
        }

        foreach (var group in live.GroupBy(i => i.Key))
        {
            var items = group.ToList();
            try
            {
                var started = Stopwatch.GetTimestamp();
                var input = FloatTensor.Stack(items.Select(i => i.Image).ToList());
                var outputs = predictor.Outputs(input, items[0].Logits, items[0].Stages);
                metrics.InferenceSeconds.WithLabels(model).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                metrics.BatchSize.WithLabels(model).Observe(items.Count);
                foreach (var kind in items.GroupBy(i => i.Kind))
                {
                    metrics.Images.WithLabels(kind.Key, model).Inc(kind.Count());
                }

                for (var i = 0; i < items.Count; i++)
                {
                    var row = i;
                    items[i].Result.TrySetResult(outputs.Select(o => o.Row(row)).ToArray());
                }
            }
            catch (Exception e)
            {
                foreach (var item in items)
                {
                    item.Result.TrySetException(e);
                }
            }
        }
    }

    private sealed record WorkItem(FloatTensor Image, string Key, bool Logits, IReadOnlyList<FeatureStage> Stages, string Kind, long Deadline, TimeSpan Wait,
        CancellationToken Cancellation)
    {
        public TaskCompletionSource<IReadOnlyList<FloatTensor>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
