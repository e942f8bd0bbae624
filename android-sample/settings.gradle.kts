// Keepsake Android sample: the AAR module (:keepsake), the platform-free flow code (:flow, also
// compiled and tested without Gradle by scripts/test-mobile-flows.sh), the engine adapter
// (:engine), the Google Drive store (:drive) and the app (:app).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "keepsake-android-sample"
include(":keepsake", ":flow", ":engine", ":drive", ":app")
