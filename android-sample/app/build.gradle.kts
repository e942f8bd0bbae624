plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

android {
    namespace = "app.keepsake.sample"
    compileSdk = 36
    defaultConfig {
        applicationId = "app.keepsake.sample"
        minSdk = 28 // passkeys through Credential Manager need API 28+
        // Google Play requires API 36 for new apps and updates from 2026-08-31.
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        // The passkey relying party: a domain you control, serving .well-known/assetlinks.json
        // (template: android-sample/assetlinks.json.template; docs/MOBILE.md).
        // The OAuth web client id "Sign in with Google" names (Google Cloud console, Credentials):
        // -PkeepsakeGoogleClientId=....apps.googleusercontent.com (docs/MOBILE.md, Google Drive).
        buildConfigField(
            "String", "GOOGLE_WEB_CLIENT_ID",
            "\"${providers.gradleProperty("keepsakeGoogleClientId").getOrElse("")}\"",
        )
        buildConfigField("String", "RP_ID", "\"${providers.gradleProperty("keepsakeRpId").getOrElse("keepsake.example")}\"")
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

// kotlinOptions {} is an error from Kotlin 2.2: the toolchain sets the JVM target.
kotlin { jvmToolchain(17) }

dependencies {
    implementation(project(":keepsake"))
    implementation(project(":flow"))
    implementation(project(":engine"))
    // The Google Drive store (appDataFolder) and its sign-in: Sign in with Google through
    // Credential Manager, the drive.appdata scope through Identity's AuthorizationClient.
    implementation(project(":drive"))
    implementation("com.google.android.libraries.identity.googleid:googleid:1.1.1")
    implementation("com.google.android.gms:play-services-auth:21.3.0")

    implementation("androidx.credentials:credentials:1.5.0")
    // Credential Manager on Android 13 and below goes through Play services.
    implementation("androidx.credentials:credentials-play-services-auth:1.5.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    // Task.await() for the Identity API.
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-play-services:1.9.0")
    // The daily background backup (DailyBackupWorker).
    implementation("androidx.work:work-runtime-ktx:2.10.1")

    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")

    androidTestImplementation(platform("androidx.compose:compose-bom:2024.12.01"))
    androidTestImplementation("androidx.compose.ui:ui-test-junit4")
    androidTestImplementation("androidx.test.ext:junit:1.2.1")
    androidTestImplementation("androidx.test:runner:1.6.2")
    debugImplementation("androidx.compose.ui:ui-test-manifest")
}
