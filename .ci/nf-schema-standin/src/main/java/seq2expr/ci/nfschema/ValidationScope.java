package seq2expr.ci.nfschema;

import java.util.List;
import nextflow.config.schema.ConfigOption;
import nextflow.config.schema.ConfigScope;
import nextflow.config.schema.ScopeName;

/**
 * The `validation` config scope, declared so that Nextflow's config checker knows the options
 * the pipeline and its users set. The names and defaults are nf-schema 2.5.1's; the stand-in
 * reads them in {@link Settings}.
 */
@ScopeName("validation")
public class ValidationScope implements ConfigScope {
    /** Types checked loosely: any scalar passes where a string is expected (default false). */
    @ConfigOption
    public boolean lenientMode;

    /** No colours in the parameter summary and help. */
    @ConfigOption
    public boolean monochromeLogs;

    /** Longest value shown in an error message (-1: no limit). */
    @ConfigOption
    public int maxErrValSize;

    /** Schema file, relative to the pipeline directory (default nextflow_schema.json). */
    @ConfigOption
    public String parametersSchema;

    /** Parameters the pipeline itself leaves unvalidated (for pipeline developers). */
    @ConfigOption
    public List<String> defaultIgnoreParams;

    /** Parameters a user leaves unvalidated. */
    @ConfigOption
    public List<String> ignoreParams;

    /** `validation.logging`: how unrecognised parameters are reported. */
    public LoggingScope logging;

    /** `validation.help`: the names of the help parameters. */
    public HelpScope help;

    /** The `validation.logging` scope of nf-schema 2.5.1. */
    public static class LoggingScope implements ConfigScope {
        /** skip, debug, info, warn (default) or error. */
        @ConfigOption
        public String unrecognisedParams;

        /** Sample-sheet headers: not used by the stand-in, declared for configs that set it. */
        @ConfigOption
        public String unrecognisedHeaders;
    }

    /** The `validation.help` scope of nf-schema 2.5.1, as far as validation reads it. */
    public static class HelpScope implements ConfigScope {
        /** The help message printed by the plugin itself: not supported by the stand-in. */
        @ConfigOption
        public boolean enabled;

        /** Parameter that prints the short help (default help). */
        @ConfigOption
        public String shortParameter;

        /** Parameter that prints the full help (default helpFull). */
        @ConfigOption
        public String fullParameter;

        /** Parameter that shows hidden parameters (default showHidden). */
        @ConfigOption
        public String showHiddenParameter;
    }
}
