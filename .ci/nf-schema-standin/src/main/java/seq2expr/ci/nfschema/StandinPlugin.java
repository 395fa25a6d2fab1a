package seq2expr.ci.nfschema;

import nextflow.plugin.BasePlugin;
import org.pf4j.PluginWrapper;

/** Entry point that Nextflow's plugin manager instantiates for the stand-in nf-schema. */
public class StandinPlugin extends BasePlugin {
    public StandinPlugin(PluginWrapper wrapper) {
        super(wrapper);
    }
}
