package seq2expr.ci.nfschema;

import nextflow.config.schema.ConfigOption;
import nextflow.config.schema.ConfigScope;
import nextflow.config.schema.ScopeName;

/**
 * The `validation` config scope, declared so that Nextflow's config checker knows the options
 * the pipeline sets; only these are read by the stand-in.
 */
@ScopeName("validation")
public class ValidationScope implements ConfigScope {
    /** No colours in the parameter summary and help. */
    @ConfigOption
    public boolean monochromeLogs;

    /** Schema file, relative to the pipeline directory (default nextflow_schema.json). */
    @ConfigOption
    public String parametersSchema;

    /** Unknown parameters are an error instead of a warning. */
    @ConfigOption
    public boolean failUnrecognisedParams;
}
