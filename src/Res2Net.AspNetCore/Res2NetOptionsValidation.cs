using Microsoft.Extensions.Options;

namespace Res2Net.AspNetCore;

/// <summary>The options pattern's validation of the service and of each named model: the options' own checks, their one sentence as the failure.</summary>
internal sealed class Res2NetOptionsValidation : IValidateOptions<Res2NetServiceOptions>, IValidateOptions<Res2NetModelOptions>
{
    public ValidateOptionsResult Validate(string? name, Res2NetServiceOptions options) => Check(() => options.Validate(), "Res2Net");

    public ValidateOptionsResult Validate(string? name, Res2NetModelOptions options) => Check(() => options.Validate(), $"Res2Net model '{name}'");

    private static ValidateOptionsResult Check(Action validate, string what)
    {
        try
        {
            validate();
            return ValidateOptionsResult.Success;
        }
        catch (Res2NetException e)
        {
            return ValidateOptionsResult.Fail($"{what}: {e.Message}");
        }
    }
}
