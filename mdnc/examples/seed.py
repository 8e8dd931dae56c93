"""The documented example of ``mdnc.modules.resnet.AE1d``, verbatim."""

import mdnc

net = mdnc.modules.resnet.AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
print('The number of convolutional layers along the depth is {0}.'.format(net.nlayers))
mdnc.contribs.torchsummary.summary(net, (3, 128), device='cpu')
