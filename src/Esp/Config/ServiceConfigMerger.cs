namespace Esp.Config;

/// <summary>
/// Merges the documents of several <c>--service_config</c> files, later over earlier, the way protobuf merges
/// messages: scalars given later replace earlier ones, rules are appended in order (so for a method the last
/// matching rule, from the last file, wins), and a provider or api with a name already seen replaces it in place.
/// </summary>
internal static class ServiceConfigMerger
{
    public static ServiceConfigDocument Merge(IReadOnlyList<ServiceConfigDocument> documents)
    {
        var merged = documents[0];
        foreach (var next in documents.Skip(1))
        {
            merged = merged with
            {
                Name = next.Name ?? merged.Name,
                Title = next.Title ?? merged.Title,
                Apis = next.Apis is null ? merged.Apis : ReplaceOrAppend(merged.Apis ?? [], next.Apis, a => a.Name),
                Providers = ReplaceOrAppend(merged.Providers, next.Providers, p => p.Provider.Id),
                AuthRules = [.. merged.AuthRules, .. next.AuthRules],
                UsageRules = [.. merged.UsageRules, .. next.UsageRules],
                ApiKeyRules = [.. merged.ApiKeyRules, .. next.ApiKeyRules],
                BackendRules = [.. merged.BackendRules, .. next.BackendRules],
            };
        }
        return merged;
    }

    private static List<T> ReplaceOrAppend<T>(IReadOnlyList<T> earlier, IReadOnlyList<T> later, Func<T, string> key)
    {
        var result = earlier.ToList();
        foreach (var item in later)
        {
            var index = result.FindIndex(e => key(e) == key(item));
            if (index >= 0)
                result[index] = item;
            else
                result.Add(item);
        }
        return result;
    }
}
