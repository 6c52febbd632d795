{
  "targets": [
    {
      "target_name": "spanwire_native",
      "sources": ["src/addon.cc", "src/af_packet.cc", "src/ebpf.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "bpf"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wno-missing-field-initializers"],
      "cflags_cc": ["-std=gnu++17", "-O2", "-Wall", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpcap", "-lpthread"]
    }
  ]
}
