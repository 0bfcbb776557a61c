using Microsoft.Playwright;
using Res2Net.Engines;
using Xunit;

namespace Res2Net.Tests.Serve;

/// <summary>
/// The demo page in a real browser: Debian's chromium, headless, on the service at 127.0.0.1. Screenshots go to
/// TestResults/screenshots (the test's artifacts).
/// </summary>
public class DemoPageTests(SmallWeights weights) : IClassFixture<SmallWeights>
{
    private const string Chromium = "/usr/bin/chromium";

    [Theory]
    [InlineData("laptop", 1366, 768)]
    [InlineData("phone", 390, 844)]
    public async Task Uploading_a_photo_shows_five_labelled_bars_and_the_grad_cam_overlay(string screen, int width, int height)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (.ci/run installs it).");
        await using var host = await ServiceHost.StartAsync(weights.Path, EngineKind.Onnx);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        // No request may leave for another origin (the page carries everything it needs).
        var foreign = new List<string>();
        page.Request += (_, r) =>
        {
            if (!r.Url.StartsWith(host.Address.ToString(), StringComparison.Ordinal) && !r.Url.StartsWith("blob:", StringComparison.Ordinal)
                && !r.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                foreign.Add(r.Url);
            }
        };

        await page.GotoAsync(host.Address.ToString());
        await page.WaitForSelectorAsync("#model .chip");
        Assert.Contains("res2net_small", await page.TextContentAsync("#model"), StringComparison.Ordinal);

        await page.SetInputFilesAsync("#file", SmallWeights.Photo("chelsea.png"));
        await page.WaitForFunctionAsync("() => document.body.dataset.state === 'done' && document.body.dataset.cam === 'done'",
            null, new PageWaitForFunctionOptions { Timeout = 30_000 });

        var labels = await page.Locator("#results li .label").AllTextContentsAsync();
        Assert.Equal(5, labels.Count);
        Assert.All(labels, l => Assert.False(string.IsNullOrWhiteSpace(l)));
        Assert.Equal(5, await page.Locator("#results li .bar").CountAsync());
        var camWidth = await page.EvaluateAsync<int>("() => document.querySelector('#cam').naturalWidth");
        Assert.True(camWidth > 0, "the Grad-CAM image did not load");
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > document.documentElement.clientWidth");
        Assert.False(overflow, "the page is wider than the screen");

        var shots = Path.Combine(TestPaths.RepoRoot, "TestResults", "screenshots");
        Directory.CreateDirectory(shots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"demo-{screen}.png"), FullPage = true });
        Assert.Empty(errors);
        Assert.Empty(foreign);
    }
}
