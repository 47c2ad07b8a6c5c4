# The C++ MobileOne builder (tests' and the demo's source of train graphs) must match PyTorch's real exporter node for
# node: wiring, attributes, Constant values and names. Every variant at the default opset; the two structurally
# distinct ones (S0: four conv branches; S4: squeeze-excite) also at the oldest and newest opsets supported.
function(add_builder_fidelity_test name variants opsets)
  add_test(NAME builder_matches_pytorch_export_${name}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/compare_mobileone_graphs.py sweep
                   --builder $<TARGET_FILE:mobileone-example> --variants ${variants} --styles prefused,bn
                   --opsets ${opsets} --work ${CMAKE_BINARY_DIR}/builder-fidelity-${name})
  set_tests_properties(builder_matches_pytorch_export_${name} PROPERTIES TIMEOUT 900 LABELS e2e)
endfunction()

add_builder_fidelity_test(all_variants s0,s1,s2,s3,s4 13)
add_builder_fidelity_test(opsets s0,s4 11,17)
