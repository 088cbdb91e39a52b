# The libFuzzer harnesses, with AddressSanitizer and UBSan, and one CTest smoke run each: a few
# seconds from the seed corpus in fuzz/corpus/<name> (scripts/fuzz runs them for longer).
enable_testing()
set(BEACON_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -O1 -g)
set(BEACON_FUZZ_SMOKE_SECONDS 8 CACHE STRING "How long CTest runs each harness")

# beacon_fuzzer(<name> <sources>): fuzz/<name>_fuzz.cpp with the sources it drives.
function(beacon_fuzzer name)
  add_executable(fuzz-${name} fuzz/${name}_fuzz.cpp ${ARGN})
  target_include_directories(fuzz-${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(fuzz-${name} PRIVATE ${BEACON_FUZZ_FLAGS})
  target_link_options(fuzz-${name} PRIVATE ${BEACON_FUZZ_FLAGS})
  target_compile_definitions(fuzz-${name} PRIVATE BOOST_ASIO_NO_DEPRECATED)
  target_link_libraries(fuzz-${name} PRIVATE Boost::json Boost::url spdlog::spdlog ${SODIUM_LIB}
    OpenSSL::Crypto
    Threads::Threads)
  set(work ${CMAKE_BINARY_DIR}/fuzz-work/${name})
  add_test(NAME fuzz_${name} COMMAND sh -c "mkdir -p '${work}' && exec \"$0\" \
-max_total_time=${BEACON_FUZZ_SMOKE_SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
'${work}' '${CMAKE_SOURCE_DIR}/fuzz/corpus/${name}'" $<TARGET_FILE:fuzz-${name}>)
  set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 120)
endfunction()

beacon_fuzzer(job_spec domain/job_spec.cpp domain/spec_signature.cpp common/json_exact.cpp
  common/canonical_json.cpp common/clock.cpp common/crypto.cpp common/text.cpp)
beacon_fuzzer(canonical_json common/canonical_json.cpp common/json_exact.cpp)
beacon_fuzzer(http_request http/request_parse.cpp http/error_json.cpp common/canonical_json.cpp
  common/text.cpp)
