# The C++ MobileOne builder (tests' and the demo's source of train graphs) must match PyTorch's real exporter node for
# node: wiring, attributes, Constant values and names, for every variant in both builder styles.
add_test(NAME builder_matches_pytorch_export
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/compare_mobileone_graphs.py sweep
                 --builder $<TARGET_FILE:mobileone-example> --variants s0,s1,s2,s3,s4 --styles prefused,bn --opsets 11,13,17
                 --work ${CMAKE_BINARY_DIR}/builder-fidelity)
set_tests_properties(builder_matches_pytorch_export PROPERTIES TIMEOUT 900 LABELS e2e)
