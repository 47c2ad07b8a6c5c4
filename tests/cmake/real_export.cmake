# Real-exporter end-to-end checks: PyTorch (Debian's python3-torch) exports, mobileone-convert converts, ONNX Runtime
# (npm onnxruntime-node) runs the result. One CTest per variant and exporter style.
foreach(variant s0 s4)
  foreach(style prefused bn dynamic)
    add_test(NAME e2e_real_export_${variant}_${style}
             COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/real_export.py
                     --variant ${variant} --style ${style}
                     --bin ${CMAKE_BINARY_DIR}/bin --work ${CMAKE_BINARY_DIR}/e2e)
    set_tests_properties(e2e_real_export_${variant}_${style} PROPERTIES TIMEOUT 600 LABELS e2e)
  endforeach()
endforeach()
