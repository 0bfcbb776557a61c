using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Res2Net.Engines;
using Res2Net.Imaging;

namespace Res2Net.AspNetCore;

/// <summary>The request handlers; each returns the result to write, errors included.</summary>
internal sealed partial class ServiceHandlers(Res2NetModels models, ILogger logger)
{
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(ServiceHandlers).Assembly.GetManifestResourceStream("Res2Net.AspNetCore.index.html")
            ?? throw new InvalidOperationException("The demo page is missing from the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    private readonly Res2NetServiceOptions options = models.Service;

    /// <summary>Runs a handler, turns the library's errors into JSON answers, and records the route's metrics.</summary>
    public RequestDelegate Wrap(string route, Func<HttpContext, Task<IResult>> handler) => async context =>
    {
        var started = Stopwatch.GetTimestamp();
        IResult result;
        try
        {
            result = await handler(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer; its image left the queue before the model if it had not run.
            models.Metrics.Requests.WithLabels(route, "499", ModelLabel(context)).Inc();
            return;
        }
        catch (Exception e)
        {
            result = Error(context, e);
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
        models.Metrics.Requests.WithLabels(route, context.Response.StatusCode.ToString(CultureInfo.InvariantCulture), ModelLabel(context)).Inc();
        models.Metrics.Latency.WithLabels(route, ModelLabel(context)).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    };

    /// <summary>The model a request is for: <c>?model=NAME</c>, else the default one.</summary>
    /// <exception cref="UnknownServedModelException">No model has that name.</exception>
    private Res2NetClassifier Model(HttpContext context)
    {
        var name = context.Request.Query["model"].ToString();
        var classifier = name.Length == 0 ? models.Default : models[name];
        context.Items[ModelKey] = classifier.Name;
        return classifier;
    }

    /// <summary>The metrics label of the model a request was for ("" when it was for none, or for one not served).</summary>
    private static string ModelLabel(HttpContext context) => context.Items.TryGetValue(ModelKey, out var name) ? (string)name! : "";

    private const string ModelKey = "res2net.model";

    public async Task<IResult> ClassifyAsync(HttpContext context)
    {
        var classifier = Model(context);
        var topk = QueryInt(context, "topk", "TopK") ?? 5;
        var started = Stopwatch.GetTimestamp();
        var images = await ReadImagesAsync(context).ConfigureAwait(false);
        var answers = await Task.WhenAll(images.Select(async image =>
        {
            var prediction = await classifier.ClassifyAsync(image.Data, topk, image.Name, context.RequestAborted).ConfigureAwait(false);
            return new
            {
                model = classifier.Metadata.Model,
                top = prediction.Top.Select(s => new { @class = s.Class, label = s.Label, prob = s.Prob }),
                ms = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1),
            };
        })).ConfigureAwait(false);
        return images.Count == 1 && !images[0].FromForm ? Results.Json(answers[0]) : Results.Json(answers);
    }

    public async Task<IResult> EmbedAsync(HttpContext context)
    {
        var classifier = Model(context);
        var images = await ReadImagesAsync(context).ConfigureAwait(false);
        var answers = await Task.WhenAll(images.Select(async image =>
        {
            var embedding = await classifier.EmbedAsync(image.Data, image.Name, context.RequestAborted).ConfigureAwait(false);
            return new { model = classifier.Metadata.Model, dim = embedding.Length, embedding };
        })).ConfigureAwait(false);
        return images.Count == 1 && !images[0].FromForm ? Results.Json(answers[0]) : Results.Json(answers);
    }

    public async Task<IResult> CamAsync(HttpContext context)
    {
        var classifier = Model(context);
        var classIndex = QueryInt(context, "class", "ClassIndex");
        // Before the body is read: a service without Grad-CAM refuses whatever the photo.
        classifier.RequireExplainer();

        var images = await ReadImagesAsync(context).ConfigureAwait(false);
        if (images.Count != 1)
        {
            return Json(StatusCodes.Status400BadRequest, $"v1/cam takes one image per request (got {images.Count}).");
        }

        var (png, cam) = await classifier.ExplainAsync(images[0].Data, classIndex, images[0].Name, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers["X-Res2Net-Class"] = cam.Class.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["X-Res2Net-Label"] = Uri.EscapeDataString(cam.Label);
        context.Response.Headers["X-Res2Net-Prob"] = cam.Prob.ToString("R", CultureInfo.InvariantCulture);
        return Results.Bytes(png, "image/png");
    }

    public Task<IResult> Models(HttpContext context)
    {
        object Describe(Res2NetClassifier classifier)
        {
            var m = classifier.Metadata;
            var p = classifier.Preprocess;
            return new
            {
                name = classifier.Name,
                model = m.Model,
                engine = classifier.EngineKind.Name(),
                precision = classifier.Precision.Name(),
                input_size = p.InputSize,
                crop_pct = p.CropPct,
                interpolation = PreprocessConfig.Name(p.Interpolation),
                mean = p.Mean,
                std = p.Std,
                in_channels = m.InChannels,
                num_classes = m.NumClasses,
                output_stride = m.OutputStride,
                pretrained = m.Pretrained,
                license = m.License,
                cam = classifier.CanExplain,
                max_batch = classifier.Options.MaxBatch,
                max_delay_ms = classifier.Options.MaxDelay.TotalMilliseconds,
                max_queue = classifier.Options.MaxQueue,
                max_body_mb = Math.Round(options.MaxBodyBytes / 1048576.0, 1),
            };
        }

        // One model: its description, as the service has always answered; several: one each, in the order they were added.
        return Task.FromResult(context.Request.Query["model"].Count > 0 || models.Count == 1
            ? Results.Json(Describe(Model(context)))
            : Results.Json(models.Select(Describe).ToArray()));
    }

    public Task<IResult> Ready(HttpContext context)
    {
        if (models.IsReady)
        {
            return Task.FromResult(Results.Json(new { status = "ready", model = models.Default.Metadata.Model, models = models.Select(c => c.Name) }));
        }

        context.Response.Headers.RetryAfter = "2";
        return Task.FromResult(Json(StatusCodes.Status503ServiceUnavailable, NotReadyReason()));
    }

    public Task<IResult> Demo(HttpContext context)
    {
        // Everything the page needs is inline: no other origin may be reached.
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return Task.FromResult(Results.Bytes(Page.Value, "text/html; charset=utf-8"));
    }

    /// <summary>
    /// The photos of a request: the raw body, or the multipart fields named "image". A declared length over the limit
    /// is refused before anything is read; a body that grows past it is cut off there.
    /// </summary>
    private async Task<List<(ReadOnlyMemory<byte> Data, string Name, bool FromForm)>> ReadImagesAsync(HttpContext context)
    {
        var request = context.Request;
        var limit = options.MaxBodyBytes;
        if (request.ContentLength > limit)
        {
            throw new PayloadTooLargeException(request.ContentLength.Value, limit);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        var images = new List<(ReadOnlyMemory<byte>, string, bool)>();
        // Only multipart forms carry files; anything else (curl's default form type included) is the photo itself.
        if (request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
        {
            context.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
            {
                MultipartBodyLengthLimit = limit,
                ValueCountLimit = options.MaxImagesPerRequest,
                BufferBody = false,
                MemoryBufferThreshold = (int)Math.Min(limit, int.MaxValue),
            }));
            var form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            foreach (var file in form.Files.Where(f => f.Name == "image"))
            {
                using var copy = new MemoryStream((int)Math.Min(file.Length, limit));
                await file.CopyToAsync(copy, context.RequestAborted).ConfigureAwait(false);
                images.Add((copy.ToArray(), string.IsNullOrEmpty(file.FileName) ? "image" : file.FileName, true));
            }

            if (images.Count == 0)
            {
                throw new InvalidOptionException("image", "must be a multipart field holding a photo (the form has none)");
            }

            return images;
        }

        var body = await ReadBodyAsync(context, limit).ConfigureAwait(false);
        if (body.IsEmpty)
        {
            throw new InvalidOptionException("body", "must hold the photo (JPEG, PNG, BMP, GIF or WebP), or be a multipart form with the field 'image' (it is empty)");
        }

        images.Add((body, "the request body", false));
        return images;
    }

    /// <summary>
    /// The whole body, at most <paramref name="limit"/> bytes: a declared length over it is refused before anything is
    /// read, a body that grows past it is cut off there.
    /// </summary>
    internal static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            throw new PayloadTooLargeException(request.ContentLength.Value, limit);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        // The buffer grows as the body comes (a declared length is only a promise: a client that stops sending holds
        // what it sent, not what it declared), up to the declared length, where Kestrel ends the body.
        var cap = request.ContentLength ?? limit;
        var buffer = new byte[Math.Min(81920, cap)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= cap)
                {
                    if (request.ContentLength is null && await request.Body.ReadAsync(new byte[1], context.RequestAborted).ConfigureAwait(false) > 0)
                    {
                        throw new PayloadTooLargeException(null, limit);
                    }

                    break;
                }

                Array.Resize(ref buffer, (int)Math.Min(cap, buffer.Length * 2L));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return buffer.AsMemory(0, length);
    }

    private static int? QueryInt(HttpContext context, string name, string option)
    {
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value
            : throw new InvalidOptionException(option, $"must be a whole number (got '{text}')");
    }

    /// <summary>The library's error as a JSON answer: its sentence, the status that says whose fault it is.</summary>
    private IResult Error(HttpContext context, Exception e)
    {
        switch (e)
        {
            case PayloadTooLargeException:
                return Json(StatusCodes.Status413PayloadTooLarge, e.Message);
            case Protocol.ProtocolException protocol:
                return Json(protocol.Error switch
                {
                    Protocol.ProtocolError.NotFound => StatusCodes.Status404NotFound,
                    Protocol.ProtocolError.TooLarge => StatusCodes.Status413PayloadTooLarge,
                    Protocol.ProtocolError.Unsupported => StatusCodes.Status501NotImplemented,
                    _ => StatusCodes.Status400BadRequest,
                }, e.Message);
            case BadHttpRequestException bad:
                return Json(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? new PayloadTooLargeException(null, options.MaxBodyBytes).Message : $"The request could not be read: {bad.Message}");
            case InvalidDataException invalid:
                return Json(StatusCodes.Status400BadRequest, $"The multipart form could not be read: {invalid.Message}");
            case InvalidOptionException option:
                return Json(StatusCodes.Status400BadRequest, $"{Parameter(option.Option)} {option.Problem}.");
            case ImageDecodeException:
                return Json(StatusCodes.Status400BadRequest, e.Message);
            case ServiceUnavailableException busy:
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(busy.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return Json(StatusCodes.Status503ServiceUnavailable, e.Message);
            case GradCamUnavailableException:
                return Json(StatusCodes.Status501NotImplemented, e.Message);
            case UnknownServedModelException:
                return Json(StatusCodes.Status404NotFound, e.Message);
            default:
                logger.LogError(e, "Request {Path} failed", context.Request.Path);
                return Json(StatusCodes.Status500InternalServerError, $"The server failed on this request ({e.GetType().Name}): {e.Message}");
        }
    }

    /// <summary>The library's option names as this API spells them.</summary>
    private static string Parameter(string option) => option switch
    {
        "TopK" => "topk",
        "ClassIndex" => "class",
        "Name" => "model",
        _ => option,
    };

    private static IResult Json(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
