"""qauipsiz.cpted — city layers, blocks, lighting/camera/access coverage, block scores, design review, siting."""
