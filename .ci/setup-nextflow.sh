#!/usr/bin/env bash
# CI only: assemble a real Nextflow from Maven Central (the nextflow.io download and the plugin
# registry cannot be reached from CI machines) plus a stand-in for the nf-schema plugin built from
# .ci/nf-schema-standin (see its README). Users install Nextflow the official way.
#
# Idempotent: everything lives in a cache folder keyed by the inputs' checksum; a second call
# takes seconds. The last line printed is the absolute path of the `nextflow` launcher.
#
#   NXF=$(bash .ci/setup-nextflow.sh | tail -1); "$NXF" run . -profile test --outdir results
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=25.04.0
cache="${SEQ2EXPR_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seq2expr-ci}"
root="$cache/nextflow-$version"
launcher="$root/bin/nextflow"

stamp="$(cat "$here/setup-nextflow.sh" "$here/nextflow/pom.xml" \
    $(find "$here/nf-schema-standin" -type f -not -path '*/target/*' | sort) | sha256sum | cut -c1-16)"
if [[ -x "$launcher" && -f "$root/.stamp" && "$(cat "$root/.stamp")" == "$stamp" ]]; then
    echo "setup-nextflow: Nextflow $version already assembled" >&2
    echo "$launcher"
    exit 0
fi

for tool in java mvn; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup-nextflow: installing Maven and Java 17 (Debian packages)" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven openjdk-17-jdk-headless >&2
        break
    fi
done

# Built beside the install and swapped in at the end, so that runs of the old one are not broken
# while the new one is assembled.
next="$root.next.$$"
trap 'rm -rf "$next"' EXIT
rm -rf "$next"
mkdir -p "$next/bin"
echo "setup-nextflow: resolving io.nextflow:nextflow:$version from Maven Central" >&2
mvn -q -B -f "$here/nextflow/pom.xml" dependency:copy-dependencies -DoutputDirectory="$next/lib" >&2

echo "setup-nextflow: building the nf-schema stand-in plugin" >&2
build="$next/build/nf-schema-standin"
mkdir -p "$build"
cp -r "$here/nf-schema-standin/pom.xml" "$here/nf-schema-standin/src" "$build/"
mvn -q -B -f "$build/pom.xml" package >&2
plugin="$next/plugins/nf-schema-2.5.1"
mkdir -p "$plugin/lib"
cp -r "$build/target/classes" "$plugin/classes"
cp "$build/target/lib/"*.jar "$plugin/lib/"
# Nextflow checks for an installed plugin's manifest at classes/META-INF/MANIFEST.MF
mkdir -p "$plugin/classes/META-INF"
cp "$here/nf-schema-standin/MANIFEST.MF" "$plugin/classes/META-INF/MANIFEST.MF"
rm -rf "$next/build"

# The JVM options of Nextflow's own launcher script (Java >= 17).
cat > "$next/bin/nextflow" <<EOF
#!/usr/bin/env bash
# Nextflow $version assembled by .ci/setup-nextflow.sh (CI only), with the nf-schema stand-in.
export NXF_PLUGINS_DIR="$root/plugins"
export NXF_PLUGINS_MODE=prod
export NXF_OFFLINE="\${NXF_OFFLINE:-true}"
export NXF_CLI="\$0 \$*"
opens=()
for pkg in java.lang java.io java.nio java.net java.util java.util.concurrent.locks java.util.concurrent.atomic \\
           java.nio.file.spi sun.nio.ch sun.nio.fs sun.net.www.protocol.http sun.net.www.protocol.https \\
           sun.net.www.protocol.ftp sun.net.www.protocol.file jdk.internal.misc jdk.internal.vm java.util.regex; do
    opens+=("--add-opens=java.base/\$pkg=ALL-UNNAMED")
done
exec "\${JAVA_HOME:+\$JAVA_HOME/bin/}java" -Dfile.encoding=UTF-8 -XX:+TieredCompilation -XX:TieredStopAtLevel=1 \\
    \${NXF_OPTS:-} "\${opens[@]}" -cp "$root/lib/*" nextflow.cli.Launcher "\$@"
EOF
chmod +x "$next/bin/nextflow"
echo "$stamp" > "$next/.stamp"
rm -rf "$root.old"
[[ -d "$root" ]] && mv "$root" "$root.old"
mv "$next" "$root"
rm -rf "$root.old"
"$launcher" -version >&2
echo "$launcher"
