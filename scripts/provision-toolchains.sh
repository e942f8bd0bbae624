#!/usr/bin/env bash
# Provisions the Kotlin (JVM) and Swift (Linux) toolchains the binding tests need, cached outside
# the repository. Sourced by scripts/test-bindings.sh; run directly to provision only
# (`scripts/provision-toolchains.sh kotlin swift`).
#
# Cache: ${KEEPSAKE_TOOLCHAINS:-~/.cache/keepsake-toolchains}
#   kotlin/   npm package kotlin-compiler (pinned) with the coroutines and kotlin-test jars;
#             JUnit 4 and Hamcrest from Debian (junit4, libhamcrest-java)
#   swift-chroot/  Debian trixie (minbase) with swiftlang, used when no native swiftc exists
#
# Opt-outs for local runs only: KEEPSAKE_SKIP_KOTLIN=1, KEEPSAKE_SKIP_SWIFT=1. Refused when CI=true.
# Facts behind the recipes: ../shared/DESIGN.md section 7.

KOTLIN_COMPILER_VERSION="2.4.20"
SWIFT_CHROOT_SUITE="trixie"
SWIFT_CHROOT_MIRROR="http://deb.debian.org/debian"

KEEPSAKE_TOOLCHAINS="${KEEPSAKE_TOOLCHAINS:-$HOME/.cache/keepsake-toolchains}"

provision_log() { echo "[provision] $*" >&2; }
provision_fail() {
    echo "[provision] ERROR: $*" >&2
    return 1
}

# True when the language may be skipped (opt-out set, outside CI). Fails when CI forbids the opt-out.
skip_requested() {
    local var="$1"
    if [[ "${!var:-0}" == "1" ]]; then
        if [[ "${CI:-}" == "true" ]]; then
            provision_fail "$var=1 is refused in CI: every language's tests must run there"
            exit 1
        fi
        return 0
    fi
    return 1
}

is_root() { [[ "$(id -u)" == "0" ]]; }
has_apt() { command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    if ! is_root || ! has_apt; then
        provision_fail "need root and apt-get to install: $*"
        return 1
    fi
    if [[ "$APT_UPDATED" == "0" ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Sets KOTLINC, KOTLIN_LIB, JNA_JAR.
provision_kotlin() {
    if ! command -v java >/dev/null 2>&1; then
        provision_log "no java: installing default-jre-headless"
        apt_install default-jre-headless || {
            provision_fail "Kotlin tests need a Java runtime (java) and none could be installed"
            return 1
        }
    fi

    JNA_JAR="${KEEPSAKE_JNA_JAR:-/usr/share/java/jna.jar}"
    if [[ ! -f "$JNA_JAR" ]]; then
        provision_log "no $JNA_JAR: installing Debian libjna-java"
        apt_install libjna-java || {
            provision_fail "Kotlin tests need JNA ($JNA_JAR) and libjna-java could not be installed"
            return 1
        }
    fi

    # JUnit 4 and Hamcrest run the Kotlin test classes (with kotlin-test-junit from the compiler).
    JUNIT_JAR="${KEEPSAKE_JUNIT_JAR:-/usr/share/java/junit4.jar}"
    HAMCREST_JAR="${KEEPSAKE_HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
    if [[ ! -f "$JUNIT_JAR" || ! -f "$HAMCREST_JAR" ]]; then
        provision_log "no JUnit 4: installing Debian junit4 and libhamcrest-java"
        apt_install junit4 libhamcrest-java || {
            provision_fail "Kotlin tests need JUnit 4 ($JUNIT_JAR) and Hamcrest ($HAMCREST_JAR)"
            return 1
        }
    fi

    local prefix="$KEEPSAKE_TOOLCHAINS/kotlin-$KOTLIN_COMPILER_VERSION"
    local pkg="$prefix/node_modules/kotlin-compiler"
    if [[ ! -x "$pkg/bin/kotlinc" ]]; then
        command -v npm >/dev/null 2>&1 || apt_install npm || {
            provision_fail "Kotlin tests need npm to fetch kotlin-compiler@$KOTLIN_COMPILER_VERSION"
            return 1
        }
        provision_log "installing kotlin-compiler@$KOTLIN_COMPILER_VERSION into $prefix"
        mkdir -p "$prefix"
        npm install --silent --no-audit --no-fund --prefix "$prefix" \
            "kotlin-compiler@$KOTLIN_COMPILER_VERSION" >&2 || {
            provision_fail "npm install kotlin-compiler@$KOTLIN_COMPILER_VERSION failed"
            return 1
        }
    fi
    # npm does not always keep the executable bits of the launcher scripts.
    chmod +x "$pkg"/bin/* 2>/dev/null || true
    KOTLINC="$pkg/bin/kotlinc"
    KOTLIN_LIB="$pkg/lib"
    [[ -f "$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar" ]] || {
        provision_fail "kotlin-compiler@$KOTLIN_COMPILER_VERSION lacks kotlinx-coroutines-core-jvm.jar"
        return 1
    }
    for jar in kotlin-test.jar kotlin-test-junit.jar; do
        [[ -f "$KOTLIN_LIB/$jar" ]] || {
            provision_fail "kotlin-compiler@$KOTLIN_COMPILER_VERSION lacks $jar"
            return 1
        }
    done
    # What a Kotlin test class needs besides the code under test.
    KOTLIN_TEST_CP="$KOTLIN_LIB/kotlin-test.jar:$KOTLIN_LIB/kotlin-test-junit.jar:$JUNIT_JAR:$HAMCREST_JAR"
    export KOTLINC KOTLIN_LIB JNA_JAR JUNIT_JAR HAMCREST_JAR KOTLIN_TEST_CP
}

# Compiles Kotlin sources into a class folder cached under the hash of the sources, the classpath
# jars' names and the compiler version (kotlinc takes minutes for the generated bindings on 2
# cores). Prints the folder. Usage: kotlin_compile_cached <cache dir> <name> <classpath> <sources...>
kotlin_compile_cached() {
    local cache="$1" name="$2" classpath="$3"
    shift 3
    local hash
    hash=$({
        echo "$KOTLIN_COMPILER_VERSION $classpath"
        cat "$@"
    } | sha256sum | cut -c1-16)
    local classes="$cache/$name-$hash"
    if [[ ! -f "$classes/.complete" ]]; then
        rm -rf "$cache/$name"-*
        mkdir -p "$classes"
        "$KOTLINC" -nowarn -classpath "$classpath" -d "$classes" "$@" 2>&1 | grep -v '^warning: ' >&2 || true
        if [[ -z "$(find "$classes" -name '*.class' -print -quit)" ]]; then
            rm -rf "$classes"
            echo "kotlin: compiling $name failed" >&2
            return 1
        fi
        touch "$classes/.complete"
    fi
    echo "$classes"
}

# The JUnit test classes under a class folder: every top-level class whose name ends in `Test`
# (the convention Gradle's default filter also finds), as fully qualified names.
kotlin_test_classes() {
    (cd "$1" && find . -name '*Test.class' ! -name '*$*' | sed 's#^\./##; s#\.class$##; s#/#.#g' | sort)
}

# Sets SWIFT_MODE (native|chroot) and, for chroot, SWIFT_CHROOT.
provision_swift() {
    if command -v swiftc >/dev/null 2>&1; then
        SWIFT_MODE=native
        export SWIFT_MODE
        return 0
    fi
    if ! is_root || ! has_apt || [[ ! -r /etc/debian_version ]]; then
        provision_fail "no native swiftc, and the Debian chroot recipe needs root on Debian/Ubuntu:" \
            "install Swift 6 (swift.org) or set KEEPSAKE_SKIP_SWIFT=1 for a local run"
        return 1
    fi
    SWIFT_CHROOT="$KEEPSAKE_TOOLCHAINS/swift-chroot-$SWIFT_CHROOT_SUITE"
    export SWIFT_MODE=chroot SWIFT_CHROOT
    if [[ -x "$SWIFT_CHROOT/usr/bin/swiftc" ]]; then
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap || {
        provision_fail "the Swift chroot needs debootstrap, which could not be installed"
        return 1
    }
    # A half-built chroot from an interrupted run is rebuilt from scratch.
    if [[ -d "$SWIFT_CHROOT" ]]; then
        swift_chroot_unmount
        rm -rf --one-file-system "$SWIFT_CHROOT"
    fi
    mkdir -p "$KEEPSAKE_TOOLCHAINS"
    provision_log "debootstrap $SWIFT_CHROOT_SUITE into $SWIFT_CHROOT"
    debootstrap --variant=minbase "$SWIFT_CHROOT_SUITE" "$SWIFT_CHROOT" "$SWIFT_CHROOT_MIRROR" \
        >"$KEEPSAKE_TOOLCHAINS/debootstrap.log" 2>&1 || {
        provision_fail "debootstrap failed (log: $KEEPSAKE_TOOLCHAINS/debootstrap.log)"
        return 1
    }
    provision_log "installing swiftlang in the chroot"
    swift_chroot_run bash -c \
        "DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang libc6-dev" >&2 || {
        provision_fail "installing swiftlang in the chroot failed"
        return 1
    }
    [[ -x "$SWIFT_CHROOT/usr/bin/swiftc" ]] || {
        provision_fail "swiftlang installed but $SWIFT_CHROOT/usr/bin/swiftc is missing"
        return 1
    }
}

swift_chroot_unmount() {
    if [[ -n "${SWIFT_CHROOT:-}" ]] && mountpoint -q "$SWIFT_CHROOT/proc"; then
        umount "$SWIFT_CHROOT/proc" || umount -l "$SWIFT_CHROOT/proc"
    fi
}

# Runs a command inside the chroot with /proc mounted only for its duration; unmounts on any exit.
swift_chroot_run() {
    local status=0
    # One run at a time: the chroot (its /proc mount, its SwiftPM stage) is shared by every
    # checkout that uses this toolchain cache.
    (
        flock 9
        (
            trap swift_chroot_unmount EXIT INT TERM
            mountpoint -q "$SWIFT_CHROOT/proc" || mount -t proc proc "$SWIFT_CHROOT/proc"
            chroot "$SWIFT_CHROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"
        ) || status=$?
        swift_chroot_unmount
        exit "$status"
    ) 9>"$SWIFT_CHROOT.lock" || status=$?
    return "$status"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    for lang in "${@:-kotlin swift}"; do
        for l in $lang; do
            start=$(date +%s)
            "provision_$l"
            provision_log "$l ready in $(($(date +%s) - start)) s"
        done
    done
fi
