using Prometheus;

namespace Res2Net.AspNetCore;

/// <summary>
/// The service's Prometheus metrics, in a registry of its own (several services in one process do not mix); every
/// series carries the model it is about (empty for routes of no model: health, metrics, the page).
/// </summary>
internal sealed class ServiceMetrics
{
    public ServiceMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("res2net_requests_total", "HTTP requests answered, by route, status code and model.",
            new CounterConfiguration { LabelNames = ["route", "status", "model"] });
        Latency = factory.CreateHistogram("res2net_request_duration_seconds", "Time from a request's arrival to its answer, by route and model.",
            new HistogramConfiguration { LabelNames = ["route", "model"], Buckets = Histogram.ExponentialBuckets(0.002, 2, 14) });
        BatchSize = factory.CreateHistogram("res2net_batch_size", "Images per forward pass of the model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        InferenceSeconds = factory.CreateHistogram("res2net_inference_seconds", "Time of one forward pass of a batch.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.002, 2, 14) });
        QueueDepth = factory.CreateGauge("res2net_queue_depth", "Images waiting for the model.", new GaugeConfiguration { LabelNames = ["model"] });
        Images = factory.CreateCounter("res2net_images_total", "Images run through the model, by kind (classify, embed, cam, infer).",
            new CounterConfiguration { LabelNames = ["kind", "model"] });
        Rejected = factory.CreateCounter("res2net_rejected_total", "Images refused before the model, by reason (queue_full, timeout, bad_image).",
            new CounterConfiguration { LabelNames = ["reason", "model"] });
        CodecSeconds = factory.CreateHistogram("res2net_protocol_codec_seconds",
            "The server's own time to read an inference request's tensors (phase read) and to write its answer (phase write), by transport and model.",
            new HistogramConfiguration { LabelNames = ["phase", "transport", "model"], Buckets = Histogram.ExponentialBuckets(0.00001, 2, 18) });
        DotNetStats.Register(Registry);
    }

    public CollectorRegistry Registry { get; }

    public Counter Requests { get; }

    public Histogram Latency { get; }

    public Histogram BatchSize { get; }

    public Histogram InferenceSeconds { get; }

    public Gauge QueueDepth { get; }

    public Counter Images { get; }

    public Counter Rejected { get; }

    public Histogram CodecSeconds { get; }
}
