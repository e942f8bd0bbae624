// The Google Drive blob store (Drive REST API v3, appDataFolder) over the bindings' BlobStore,
// with java.net.HttpURLConnection only. No android.* imports: scripts/test-mobile-flows.sh
// compiles it with the generated Kotlin and tests it on the JVM against a local stand-in for
// Drive (scripts/drive-standin.py). Sign-in (Credential Manager, AuthorizationClient) is in :app.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.keepsake.sample.drive"
    compileSdk = 36
    defaultConfig { minSdk = 28 }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    // The tests talk to the stand-in that scripts/test-mobile-flows.sh starts; under Gradle
    // without it they are skipped (KEEPSAKE_DRIVE_STANDIN unset).
}

// kotlinOptions {} is an error from Kotlin 2.2: the toolchain sets the JVM target.
kotlin { jvmToolchain(17) }

dependencies {
    api(project(":keepsake"))
    // DriveJourneyTest runs the sample's engine over the Drive store.
    testImplementation(project(":engine"))
    testImplementation(kotlin("test-junit"))
}
