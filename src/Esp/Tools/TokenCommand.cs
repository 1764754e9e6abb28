using System.CommandLine;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tools;

/// <summary>
/// <c>esp token --file=KEY.json --issuer=ISS --audiences=AUD</c>: the Cloud Endpoints sample's
/// <c>jwt_token_gen.py</c>. Prints the token alone, so <c>TOKEN=$(esp token ...)</c> works.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var file = new Option<string?>("--file") { Description = "The service account key file (as Google issues it, or from esp keys create)." };
        var issuer = new Option<string?>("--issuer") { Description = "The token's iss (and sub): the service account's email in the walkthrough. Default: the key file's client_email." };
        var audiences = new Option<string?>("--audiences") { Description = "The token's aud: the service name; several comma-separated make a list." };
        var lifetime = new Option<int>("--lifetime") { Description = "Seconds from iat to exp.", DefaultValueFactory = _ => (int)TokenSigner.DefaultLifetime.TotalSeconds };
        var email = new Option<string>("--email") { Description = "The token's email claim.", DefaultValueFactory = _ => TokenSigner.DefaultEmail };
        var command = new Command("token", "Makes a JWT signed with a service account key, as the walkthrough's jwt_token_gen.py does (RS256, kid = private_key_id).")
        {
            file, issuer, audiences, lifetime, email,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var problems = new List<string>();
            var path = result.GetValue(file);
            if (string.IsNullOrEmpty(path))
                problems.Add("give the service account key file: --file KEY.json");
            var audienceList = TokenSigner.SplitAudiences(result.GetValue(audiences));
            if (audienceList.Count == 0)
                problems.Add("give the audience: --audiences SERVICE_NAME (several: comma-separated)");
            if (result.GetValue(lifetime) <= 0)
                problems.Add($"--lifetime: {result.GetValue(lifetime)} is not a positive number of seconds");
            var givenIssuer = result.GetValue(issuer);
            if (givenIssuer is { Length: 0 })
                problems.Add("--issuer: empty");
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                    error.WriteLine($"esp token: {problem}");
                return KeysCommand.BadInput;
            }

            using var key = ServiceAccountKey.Load(path!, out var loadProblem);
            if (key is null)
            {
                error.WriteLine($"esp token: {loadProblem}");
                return KeysCommand.BadInput;
            }
            var token = TokenSigner.Sign(key, givenIssuer ?? key.ClientEmail, audienceList, result.GetValue(email) ?? TokenSigner.DefaultEmail,
                TimeSpan.FromSeconds(result.GetValue(lifetime)));
            result.InvocationConfiguration.Output.WriteLine(token);
            return 0;
        });
        return command;
    }
}
