using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Res2Net.Tests.Download;

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 over a raw socket, so tests control every byte: it can cut a body short or
/// stall, which HttpListener cannot do reliably. One request per connection; unknown paths get 404.
/// </summary>
internal sealed class LocalHttpServer : IAsyncDisposable
{
    /// <summary>Writes a whole response for one request; the connection is closed afterwards.</summary>
    public delegate Task Responder(Stream stream, CancellationToken cancellationToken);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Responder> _routes = new();
    private readonly Task _loop;
    private int _requests;

    public LocalHttpServer()
    {
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string BaseUrl => $"http://127.0.0.1:{Port}/";

    /// <summary>Requests received so far, on any path.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public ConcurrentQueue<string> Paths { get; } = new();

    public LocalHttpServer Route(string path, Responder responder)
    {
        _routes[path] = responder;
        return this;
    }

    /// <summary>A port on 127.0.0.1 where nothing listens (bound, read, released).</summary>
    public static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static Responder File(byte[] body) => async (s, ct) =>
    {
        await WriteHeadAsync(s, "200 OK", body.Length, ct);
        await s.WriteAsync(body, ct);
    };

    /// <summary>Announces the whole length, sends <paramref name="sent"/> bytes, then closes the connection.</summary>
    public static Responder Truncated(byte[] body, int sent) => async (s, ct) =>
    {
        await WriteHeadAsync(s, "200 OK", body.Length, ct);
        await s.WriteAsync(body.AsMemory(0, sent), ct);
    };

    /// <summary>Sends the headers and <paramref name="sent"/> bytes, then nothing until the server stops.</summary>
    public static Responder Stalling(byte[] body, int sent) => async (s, ct) =>
    {
        await WriteHeadAsync(s, "200 OK", body.Length, ct);
        await s.WriteAsync(body.AsMemory(0, sent), ct);
        await s.FlushAsync(ct);
        await Task.Delay(Timeout.Infinite, ct);
    };

    /// <summary>Announces the whole length, then sends a byte every <paramref name="every"/>: never silent, never done.</summary>
    public static Responder Dripping(byte[] body, TimeSpan every) => async (s, ct) =>
    {
        await WriteHeadAsync(s, "200 OK", body.Length, ct);
        foreach (var b in body)
        {
            await s.WriteAsync(new[] { b }, ct);
            await s.FlushAsync(ct);
            await Task.Delay(every, ct);
        }
    };

    /// <summary>Zeros without end and without a length; <paramref name="sent"/>, if given, counts the body's bytes written.</summary>
    public static Responder Endless(long[]? sent = null) => async (s, ct) =>
    {
        await s.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"), ct);
        var zeros = new byte[1 << 16];
        while (!ct.IsCancellationRequested)
        {
            await s.WriteAsync(zeros, ct);
            if (sent is not null)
            {
                Interlocked.Add(ref sent[0], zeros.Length);
            }
        }
    };

    /// <summary>A redirect to <paramref name="location"/>.</summary>
    public static Responder Redirect(string location) => (s, ct) => s.WriteAsync(Encoding.ASCII.GetBytes(
        $"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), ct).AsTask();

    public static Responder Status(int code, string phrase) => (s, ct) => WriteHeadAsync(s, $"{code} {phrase}", 0, ct);

    private static Task WriteHeadAsync(Stream s, string status, long length, CancellationToken ct) =>
        s.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"), ct).AsTask();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                string path = await ReadRequestPathAsync(stream, _stop.Token);
                Interlocked.Increment(ref _requests);
                Paths.Enqueue(path);
                var respond = _routes.TryGetValue(path, out var r) ? r : Status(404, "Not Found");
                await respond(stream, _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client gave up, or the server is stopping.
            }
        }
    }

    private static async Task<string> ReadRequestPathAsync(Stream stream, CancellationToken ct)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            if (await stream.ReadAsync(one, ct) == 0)
            {
                throw new IOException("the client closed the connection before the end of the request head");
            }

            head.Add(one[0]);
        }

        string requestLine = Encoding.ASCII.GetString([.. head]).Split("\r\n")[0];
        return requestLine.Split(' ')[1];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
