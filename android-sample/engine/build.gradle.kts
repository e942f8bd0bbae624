// The BackupEngine port implemented over the generated bindings (package app.keepsake). No
// android.* imports: scripts/test-mobile-flows.sh compiles it with the generated Kotlin and runs
// the flows end to end on the JVM with the software authenticator.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.keepsake.sample.engine"
    compileSdk = 36
    defaultConfig { minSdk = 28 }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

// kotlinOptions {} is an error from Kotlin 2.2: the toolchain sets the JVM target.
kotlin { jvmToolchain(17) }

dependencies {
    api(project(":keepsake"))
    api(project(":flow"))
    // The in-memory vault and history of :flow's test doubles (java-test-fixtures there).
    testImplementation(testFixtures(project(":flow")))
    testImplementation(kotlin("test-junit"))
}
