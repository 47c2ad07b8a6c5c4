#pragma once

namespace mobileone::runtime {

// Instruction sets a kernel may require; Generic kernels are the portable reference.
enum class Isa { Generic, Avx2, Avx512, Neon };

// Whether kernels of this ISA may run: the CPU has it and MOBILEONE_ISA (generic, avx2, avx512 or neon) does not cap
// the level below it. A MOBILEONE_ISA the CPU lacks, or an unknown one, is an error.
bool cpu_supports(Isa isa);
const char* to_string(Isa isa);

}  // namespace mobileone::runtime
