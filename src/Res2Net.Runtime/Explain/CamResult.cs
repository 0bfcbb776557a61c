namespace Res2Net.Explain;

/// <summary>A class activation map: where the network looked for one class, on a coarse grid, scaled to [0, 1].</summary>
public sealed record CamResult
{
    private readonly IReadOnlyList<float> map = [];

    /// <summary>A map of <paramref name="mapWidth"/> x <paramref name="mapHeight"/> values, row by row (copied).</summary>
    public CamResult(int @class, string label, float prob, IReadOnlyList<float> map, int mapWidth, int mapHeight)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Count != (long)mapWidth * mapHeight)
        {
            throw new ArgumentException($"A {mapWidth}x{mapHeight} map has {(long)mapWidth * mapHeight} values, not {map.Count}.", nameof(map));
        }

        Class = @class;
        Label = label;
        Prob = prob;
        Map = map;
        MapWidth = mapWidth;
        MapHeight = mapHeight;
    }

    /// <summary>The class explained.</summary>
    public int Class { get; init; }

    /// <summary>Its name.</summary>
    public string Label { get; init; }

    /// <summary>Its probability for the input.</summary>
    public float Prob { get; init; }

    /// <summary>The map, row by row, in [0, 1].</summary>
    public IReadOnlyList<float> Map
    {
        get => map;
        init => map = Array.AsReadOnly(value.ToArray());
    }

    /// <summary>Columns of the map.</summary>
    public int MapWidth { get; init; }

    /// <summary>Rows of the map.</summary>
    public int MapHeight { get; init; }
}
